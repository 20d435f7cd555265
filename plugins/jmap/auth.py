"""HTTP authentication for JMAP: Basic (passwords, app passwords) and Bearer tokens.

Both go through the kernel's directories (``kernel.authenticate``, the
``stalwart_authenticate`` hook), like every protocol's login in
:mod:`kernel.login`: the directory checks the secret, counts failures and
refuses a throttled client or account; Credentials carry ``protocol="http"``
and the client's address. A failure is ``401`` with
``WWW-Authenticate: Basic realm="...", Bearer realm="..."`` (RFC 7617, RFC 6750
§3); a directory or store failure is ``503``.

Implementation notes:

* RFC 8620 §8.2 asks for TLS; a Basic password on plain HTTP is accepted only
  from a loopback client or when ``auth.allow_plaintext_without_tls`` is set
  (the same switch as the mail protocols; RFC 8314 §3). Bearer tokens follow
  the same rule.
* Basic credentials are decoded as UTF-8 (RFC 7617 §2.1 ``charset="UTF-8"``).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, final

from kernel.errors import KernelError
from kernel.specs import Credentials
from plugins.jmap.accounts import User

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel

__all__ = ["REALM", "AuthOutcome", "authenticate_header", "challenge"]

REALM = "JMAP"


@final
@dataclass(frozen=True, slots=True)
class AuthOutcome:
    """``user`` on success; otherwise ``status`` (401 or 503) and a log ``reason``."""

    user: User | None
    status: int = 200
    reason: str = ""


def challenge() -> str:
    """The ``WWW-Authenticate`` value of a 401 answer."""
    return f'Basic realm="{REALM}", charset="UTF-8", Bearer realm="{REALM}"'


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def _decode_basic(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep and username else None


async def authenticate_header(
    kernel: Kernel, header: str | None, *, remote: str | None, secure: bool
) -> AuthOutcome:
    """Check an ``Authorization`` header value; the outcome says who or why not."""
    if not header:
        return AuthOutcome(None, 401, "no credentials")
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    plaintext_ok = bool(kernel.config["auth"]["allow_plaintext_without_tls"])
    if not secure and not _is_loopback(remote) and not plaintext_ok:
        return AuthOutcome(None, 401, "credentials require TLS")
    if scheme == "basic":
        pair = _decode_basic(value)
        if pair is None:
            return AuthOutcome(None, 401, "malformed Basic credentials")
        credentials = Credentials(
            kind="password",
            username=pair[0],
            secret=pair[1],
            protocol="http",
            remote=remote or "",
        )
    elif scheme == "bearer" and value.strip():
        credentials = Credentials(
            kind="token", username=None, secret=value.strip(), protocol="http", remote=remote or ""
        )
    else:
        return AuthOutcome(None, 401, "unsupported authentication scheme")
    try:
        result = await kernel.authenticate(credentials)
        if not result.ok or result.account is None:
            return AuthOutcome(None, 401, result.reason or "refused")
        principal = await kernel.store.directory.principal(result.account)
    except (KernelError, OSError) as exc:
        kernel.logger("jmap").error("login-unavailable", error=f"{type(exc).__name__}: {exc}")
        return AuthOutcome(None, 503, "authentication unavailable")
    if principal is None or principal.kind != "individual":
        return AuthOutcome(None, 401, "not a mail account")
    return AuthOutcome(User(principal.id, principal.name))
