"""Events a :class:`~kernel.sasl.SaslServer` hands to its protocol driver, and the errors.

Every method of the engine returns exactly one event. Three of them are *questions* the
driver must answer with the matching method before anything else happens
(:class:`VerifyPassword` -> ``password_result``, :class:`LookupScram` ->
``scram_credentials``, :class:`VerifyToken` -> ``token_result``); :class:`Challenge` asks
the driver to send data to the client and feed back its response; :class:`Success` and
:class:`Failure` end the exchange (RFC 4422 §3.6).

Implementation notes:

- Secrets (the password, the bearer token) are excluded from ``repr`` so that logging an
  event never leaks them.
- ``Failure.reason`` is for logs. Drivers must not echo it to the client verbatim when it
  could tell a valid user with a wrong password from an unknown user (RFC 4422 §3.6);
  the engine already uses one reason, ``"invalid credentials"``, for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias, final

__all__ = [
    "Challenge",
    "Failure",
    "LookupScram",
    "MechanismNotAllowed",
    "SaslEvent",
    "SaslStateError",
    "Success",
    "UnknownMechanism",
    "VerifyPassword",
    "VerifyToken",
]


class UnknownMechanism(ValueError):
    """The client named a mechanism this server does not implement or has disabled.

    Drivers answer SMTP ``504 5.5.4``, IMAP ``NO``/``BAD``, POP3 ``-ERR``.
    """


class MechanismNotAllowed(ValueError):
    """The mechanism exists but may not be used on this connection (no TLS yet).

    Drivers answer SMTP ``538 5.7.11`` (RFC 4954 §6), IMAP ``NO [PRIVACYREQUIRED]``.
    """


class SaslStateError(RuntimeError):
    """The driver misused the engine, e.g. answered a question that was not asked.

    Never raised because of anything the client sent.
    """


@final
@dataclass(frozen=True)
class Challenge:
    """Send ``data`` to the client (the driver base64-encodes it) and feed back its response.

    RFC 4422 §3.4: the exchange is a sequence of server challenges and client responses.
    """

    data: bytes


@final
@dataclass(frozen=True)
class VerifyPassword:
    """Question: does ``password`` belong to ``authcid``, and may it act as ``authzid``?

    Both strings are already SASLprep-ed (RFC 4616 §2). Answer with
    ``SaslServer.password_result``.
    """

    authzid: str | None
    authcid: str
    password: str = field(repr=False)


@final
@dataclass(frozen=True)
class LookupScram:
    """Question: what are the stored SCRAM keys of ``authcid``? Answer ``scram_credentials``.

    Answer ``None`` for an unknown user, or when ``authcid`` may not act as ``authzid``:
    the exchange then continues with made-up keys and fails at the end, so the client
    cannot tell the cases apart (RFC 5802 §9).

    ``hash_name`` names the hash of the mechanism (``sha256`` for SCRAM-SHA-256,
    ``sha1`` for SCRAM-SHA-1): answer with the keys stored for that hash.
    """

    authcid: str
    authzid: str | None
    hash_name: str = "sha256"


@final
@dataclass(frozen=True)
class VerifyToken:
    """Question: is this OAuth 2.0 bearer token valid, and whose is it? Answer ``token_result``.

    RFC 7628 §3.2: ``host`` and ``port``, when the client sent them, must be checked
    against what the server knows (its configured names, the listener's port).
    """

    authzid: str | None
    token: str = field(repr=False)
    host: str | None = None
    port: int | None = None


@final
@dataclass(frozen=True)
class Success:
    """The exchange succeeded (RFC 4422 §3.6).

    ``authcid`` is the authenticated identity (for OAUTHBEARER, the token's owner as
    reported by the driver), ``authzid`` the identity the client asked to act as (``None``
    when absent or empty, RFC 4422 §3.4.1), and ``account`` whatever the driver passed
    with its answer. ``additional_data``, when not ``None``, must be sent with the success
    reply; it is only ever set for SCRAM with ``success_data=True``.
    """

    authcid: str
    authzid: str | None
    account: str | None = None
    additional_data: bytes | None = None


@final
@dataclass(frozen=True)
class Failure:
    """The exchange failed; ``temporary`` means "try again later" (SMTP 454, IMAP UNAVAILABLE)."""

    reason: str
    temporary: bool = False


SaslEvent: TypeAlias = Challenge | VerifyPassword | LookupScram | VerifyToken | Success | Failure
