"""POP3 replies: the status line, multi-line bodies, and every reply text the server sends.

```
single-line  =  status [SP text] CRLF       ;512 octets maximum
status       =  "+OK" / "-ERR"
text         =  *schar / resp-code *CHAR
resp-code    =  "[" resp-level *("/" resp-level) "]"
multi-line   =  single-line *dot-stuffed "." CRLF
```
(RFC 2449 §3.) Reply texts live here, not in ``ops/`` (STYLE.md §1.6): an op
picks a constant or calls one of the small formatting functions.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, final

from plugins.pop3.proto import codes

__all__ = ["Reply", "continuation", "err", "multiline", "ok"]

#: RFC 1939 §3: a reply line is at most 512 octets with its CRLF.
MAX_REPLY_LINE: Final = 512
_END: Final = b".\r\n"


@final
@dataclass(frozen=True, slots=True)
class Reply:
    """A status line: ``+OK``/``-ERR``, an optional response code and text."""

    ok: bool
    text: str = ""
    code: str | None = None

    def to_bytes(self) -> bytes:
        """The line with its CRLF, cut to 512 octets (RFC 1939 §3)."""
        parts = ["+OK" if self.ok else "-ERR"]
        if self.code:
            parts.append(f"[{self.code}]")
        if self.text:
            parts.append(self.text)
        line = " ".join(parts).encode("utf-8", "replace").replace(b"\r", b"").replace(b"\n", b" ")
        return line[: MAX_REPLY_LINE - 2] + b"\r\n"


def ok(text: str = "", code: str | None = None) -> Reply:
    """A positive reply."""
    return Reply(True, text, code)


def err(text: str, code: str | None = None) -> Reply:
    """A negative reply."""
    return Reply(False, text, code)


def multiline(first: Reply, lines: Iterable[str | bytes]) -> bytes:
    """``first``, then each line (dot-stuffed, RFC 1939 §3), then the ``.`` terminator."""
    out = bytearray(first.to_bytes())
    for line in lines:
        data = line.encode() if isinstance(line, str) else line
        if data.startswith(b"."):
            out += b"."
        out += data + b"\r\n"
    out += _END
    return bytes(out)


# ---- authorization ------------------------------------------------------------------

GREETING: Final = "POP3 server ready"
CAPA_FOLLOWS: Final = ok("Capability list follows")
STLS_GO: Final = ok("Begin TLS negotiation now")
STLS_ACTIVE: Final = err("TLS is already active")
STLS_UNAVAILABLE: Final = err("STLS is not available on this listener")
STLS_AFTER_UTF8: Final = err("STLS is not allowed after UTF8")
UTF8_ON: Final = ok("UTF-8 mode enabled")
USER_OK: Final = ok("send your password")
PLAINTEXT_DISABLED: Final = err(
    "Plaintext authentication disallowed on non-secure connections; use STLS or port 995",
    codes.AUTH,
)
PASS_NEEDS_USER: Final = err("send USER first")
INVALID_CREDENTIALS: Final = err("Authentication failed", codes.AUTH)
AUTH_CANCELLED: Final = err("Authentication cancelled")
AUTH_TEMPORARY: Final = err(
    "Authentication is temporarily unavailable, try again later", codes.SYS_TEMP
)
TOO_MANY_FAILURES: Final = err("Too many authentication failures, closing", codes.AUTH)
UNKNOWN_MECHANISM: Final = err("Unsupported authentication mechanism")
MECHANISM_NEEDS_TLS: Final = err(
    "This mechanism needs an encrypted connection; use STLS or port 995", codes.AUTH
)
MECHANISMS_FOLLOW: Final = ok("Supported mechanisms follow")
APOP_UNAVAILABLE: Final = err("APOP is not supported; use USER/PASS or AUTH")
IN_USE: Final = err("Your maildrop is in use by another POP3 session", codes.IN_USE)
MAILDROP_UNAVAILABLE: Final = err("Cannot open the maildrop now, try again later", codes.SYS_TEMP)
NO_MAILDROP: Final = err("There is no maildrop for this account", codes.SYS_PERM)
LEASE_LOST: Final = err("The maildrop lock was lost; no changes were made", codes.SYS_TEMP)
SHUTTING_DOWN: Final = err("Server shutting down, try again later", codes.SYS_TEMP)


def continuation(challenge: bytes) -> bytes:
    """A SASL challenge line: ``+ `` and base64 (RFC 5034 §4: ``+ `` alone if empty)."""
    return b"+ " + base64.b64encode(challenge) + b"\r\n"


def login_delayed(seconds: int) -> Reply:
    """RFC 2449 §8.1.1: logged in less than LOGIN-DELAY seconds ago."""
    return err(f"Wait {seconds} seconds between logins", codes.LOGIN_DELAY)


def maildrop_opened(count: int, octets: int) -> Reply:
    """The reply to a successful PASS or AUTH (RFC 1939 §7 example)."""
    return ok(f"maildrop has {count} message{'s' if count != 1 else ''} ({octets} octets)")


# ---- transaction ----------------------------------------------------------------------

NOOP: Final = ok()
NO_SUCH_MESSAGE: Final = err("no such message")
MESSAGE_DELETED: Final = err("message is deleted")
MESSAGE_GONE: Final = err("message was removed by another client", codes.SYS_PERM)
STORE_UNAVAILABLE: Final = err("Cannot read the maildrop now, try again later", codes.SYS_TEMP)
NEEDS_UTF8: Final = err("message needs UTF-8 mode; send UTF8 first", codes.UTF8)
UIDL_FOLLOWS: Final = ok("unique-id listing follows")


def stat(count: int, octets: int) -> Reply:
    """RFC 1939 §5: a drop listing, ``+OK nn mm``, with nothing after."""
    return ok(f"{count} {octets}")


def scan_listing(number: int, size: int) -> Reply:
    """RFC 1939 §5: ``+OK n size``."""
    return ok(f"{number} {size}")


def list_follows(count: int, octets: int) -> Reply:
    """The first line of a full LIST."""
    return ok(f"{count} messages ({octets} octets)")


def unique_id(number: int, uid: str) -> Reply:
    """RFC 1939 §7: ``+OK n unique-id``."""
    return ok(f"{number} {uid}")


def message_follows(size: int) -> Reply:
    """The first line of RETR and TOP."""
    return ok(f"{size} octets")


def deleted(number: int) -> Reply:
    """The reply to DELE."""
    return ok(f"message {number} deleted")


def reset(count: int, octets: int) -> Reply:
    """The reply to RSET (RFC 1939 §5 example)."""
    return ok(f"maildrop has {count} messages ({octets} octets)")


# ---- update and errors -----------------------------------------------------------------

BYE: Final = ok("Bye")
EXPUNGE_FAILED: Final = err("Some deleted messages were not removed", codes.SYS_TEMP)


def signing_off(left: int) -> Reply:
    """RFC 1939 §6: the reply to QUIT after the UPDATE state."""
    if not left:
        return ok("Bye (maildrop empty)")
    return ok(f"Bye ({left} message{'s' if left != 1 else ''} left)")


UNKNOWN_COMMAND: Final = err("Unknown command")
WRONG_STATE: Final = err("Command not valid in this state")
LINE_TOO_LONG: Final = err("Line too long")
TOO_MANY_ERRORS: Final = err("Too many errors, closing")
