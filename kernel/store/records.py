"""The store's records: what the domain API returns to protocols.

Frozen dataclasses, so a protocol can keep one without fearing it changes under
it; the store hands out new ones after every write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, final

__all__ = ["AppPassword", "Domain", "Principal", "PrincipalKind", "Role", "ScramSecret", "Token"]

PrincipalKind = Literal["individual", "group"]
Role = Literal["user", "admin"]


@final
@dataclass(frozen=True, slots=True)
class ScramSecret:
    """SCRAM keys for one hash (RFC 5802 §3), so SCRAM works without the plaintext.

    ``hash_name`` is ``sha256`` (SCRAM-SHA-256, RFC 7677) or ``sha1`` (SCRAM-SHA-1).
    """

    salt: bytes
    iterations: int
    stored_key: bytes = field(repr=False)
    server_key: bytes = field(repr=False)
    hash_name: str = "sha256"


@final
@dataclass(frozen=True, slots=True)
class Principal:
    """An account (``individual``) or a ``group``; ``name`` is its primary address."""

    id: int
    kind: PrincipalKind
    name: str
    role: Role
    enabled: bool
    quota: int  # bytes; 0 means unlimited
    used: int  # bytes counted against the quota
    description: str = ""
    created: float = 0.0
    quota_messages: int = 0  # emails (RFC 9208 §5.2 MESSAGE); 0 means unlimited
    used_messages: int = 0  # emails counted against it (each once, like ``used``)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@final
@dataclass(frozen=True, slots=True)
class Domain:
    """A local domain: mail for ``name`` is delivered here."""

    name: str
    created: float = 0.0


@final
@dataclass(frozen=True, slots=True)
class AppPassword:
    """A named, revocable secret for one client (the secret itself is only hashed)."""

    id: int
    principal: int
    name: str
    created: float
    last_used: float | None = None


@final
@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token (OAUTHBEARER, HTTP ``Authorization: Bearer``)."""

    id: int
    principal: int
    name: str
    created: float
    expires: float | None = None
