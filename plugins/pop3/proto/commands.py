"""POP3 command lines parsed into frozen dataclasses.

```
command      =  keyword *(SP param) CRLF    ;255 octets maximum
keyword      =  3*4VCHAR
param        =  1*VCHAR
```
(RFC 2449 §3.) The commands: RFC 1939 §4-§7 (USER, PASS, APOP, STAT, LIST,
RETR, DELE, NOOP, RSET, QUIT, TOP, UIDL), RFC 2449 §5 (CAPA), RFC 5034 §4
(AUTH), RFC 2595 §4 (STLS) and RFC 6856 §2.1 (UTF8).

Implementation notes:

* POP3 has sixteen commands of one or two arguments each, so they share this
  module instead of a ``parser/`` package (STYLE.md §1.13: a command gets its
  own file past about 80 lines; none comes near).
* Keywords are case-insensitive. Parameters are split on runs of spaces or
  tabs, a little more liberal than the single SP of the grammar, except PASS:
  RFC 1939 §7 allows a server to take everything after ``PASS `` as the
  password, spaces included, and we do.
* Parameters are UTF-8 (RFC 6856 §2.2 lets USER and PASS carry UTF-8); a line
  that is not valid UTF-8 is :class:`Invalid`.
* Message numbers are decimal, at most 10 digits; 0 parses (it never names a
  message, so it gets "no such message" like any number past the end).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final, final

__all__ = [
    "Apop",
    "Auth",
    "Capa",
    "Command",
    "Dele",
    "Invalid",
    "List",
    "Noop",
    "Pass",
    "Quit",
    "Retr",
    "Rset",
    "SaslResponse",
    "Stat",
    "Stls",
    "Top",
    "Uidl",
    "Unknown",
    "User",
    "Utf8",
    "decode_base64",
    "parse_command",
    "parse_sasl_response",
]

_MAX_NUMBER_DIGITS: Final = 10


@final
@dataclass(frozen=True, slots=True)
class Capa:
    """RFC 2449 §5: list the capabilities."""


@final
@dataclass(frozen=True, slots=True)
class Stls:
    """RFC 2595 §4: start TLS."""


@final
@dataclass(frozen=True, slots=True)
class Utf8:
    """RFC 6856 §2.1: enter UTF-8 mode."""


@final
@dataclass(frozen=True, slots=True)
class User:
    """RFC 1939 §7: the login name."""

    name: str


@final
@dataclass(frozen=True, slots=True)
class Pass:
    """RFC 1939 §7: the password (the rest of the line)."""

    password: str

    def __repr__(self) -> str:
        return "Pass(password=...)"


@final
@dataclass(frozen=True, slots=True)
class Apop:
    """RFC 1939 §7: name and MD5 digest (refused: no clear-text secrets are stored)."""

    name: str
    digest: str


@final
@dataclass(frozen=True, slots=True)
class Auth:
    """RFC 5034 §4: a SASL mechanism and optional initial response (decoded).

    ``mechanism`` None is the bare ``AUTH`` some clients send to list mechanisms.
    """

    mechanism: str | None
    initial_response: bytes | None = None

    def __repr__(self) -> str:
        return f"Auth(mechanism={self.mechanism!r}, ...)"


@final
@dataclass(frozen=True, slots=True)
class Stat:
    """RFC 1939 §5: the drop listing."""


@final
@dataclass(frozen=True, slots=True)
class List:
    """RFC 1939 §5: scan listings (of one message, or all)."""

    msg: int | None = None


@final
@dataclass(frozen=True, slots=True)
class Retr:
    """RFC 1939 §5: retrieve a message."""

    msg: int


@final
@dataclass(frozen=True, slots=True)
class Dele:
    """RFC 1939 §5: mark a message deleted."""

    msg: int


@final
@dataclass(frozen=True, slots=True)
class Noop:
    """RFC 1939 §5: do nothing."""


@final
@dataclass(frozen=True, slots=True)
class Rset:
    """RFC 1939 §5: unmark every deleted message."""


@final
@dataclass(frozen=True, slots=True)
class Quit:
    """RFC 1939 §4, §6: end the session (entering UPDATE from TRANSACTION)."""


@final
@dataclass(frozen=True, slots=True)
class Top:
    """RFC 1939 §7: the header and the first ``lines`` lines of the body."""

    msg: int
    lines: int


@final
@dataclass(frozen=True, slots=True)
class Uidl:
    """RFC 1939 §7: unique-id listings (of one message, or all)."""

    msg: int | None = None


@final
@dataclass(frozen=True, slots=True)
class Unknown:
    """A keyword this server does not know."""

    keyword: str


@final
@dataclass(frozen=True, slots=True)
class Invalid:
    """A known command with bad arguments; ``reason`` goes into the ``-ERR`` text."""

    keyword: str
    reason: str


#: Every command the server knows.
Command = (
    Capa | Stls | Utf8 | User | Pass | Apop | Auth | Stat | List | Retr | Dele | Noop | Rset | Quit
) | (Top | Uidl)


def _number(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_NUMBER_DIGITS:
        return None
    return int(text)


def decode_base64(text: str) -> bytes | None:
    """Strict base64 (RFC 5034 §4: reject any other character and misplaced ``=``)."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


_BARE: Final[dict[str, type[Capa | Stls | Utf8 | Stat | Noop | Rset | Quit]]] = {
    "CAPA": Capa,
    "STLS": Stls,
    "UTF8": Utf8,
    "STAT": Stat,
    "NOOP": Noop,
    "RSET": Rset,
    "QUIT": Quit,
}


def _optional_msg(keyword: str, args: list[str]) -> Command | Invalid:
    if len(args) > 1:
        return Invalid(keyword, "too many arguments")
    msg = _number(args[0]) if args else None
    if args and msg is None:
        return Invalid(keyword, "invalid message number")
    return List(msg) if keyword == "LIST" else Uidl(msg)


def _one_msg(keyword: str, args: list[str]) -> Command | Invalid:
    if len(args) != 1:
        return Invalid(keyword, "expected one message number")
    msg = _number(args[0])
    if msg is None:
        return Invalid(keyword, "invalid message number")
    return Retr(msg) if keyword == "RETR" else Dele(msg)


def _top(args: list[str]) -> Command | Invalid:
    if len(args) != 2:
        return Invalid("TOP", "expected a message number and a number of lines")
    msg, lines = _number(args[0]), _number(args[1])
    if msg is None:
        return Invalid("TOP", "invalid message number")
    if lines is None:
        return Invalid("TOP", "invalid number of lines")
    return Top(msg, lines)


def _auth(args: list[str]) -> Command | Invalid:
    if not args:
        return Auth(None)
    if len(args) > 2:
        return Invalid("AUTH", "too many arguments")
    mechanism = args[0].upper()
    if len(args) == 1:
        return Auth(mechanism)
    # RFC 5034 §4: "=" is an empty initial response.
    initial = b"" if args[1] == "=" else decode_base64(args[1])
    if initial is None:
        return Invalid("AUTH", "invalid base64 in the initial response")
    return Auth(mechanism, initial)


@final
@dataclass(frozen=True, slots=True)
class SaslResponse:
    """A client's line during an AUTH exchange (RFC 5034 §4).

    ``data`` is the decoded response, None if the line was not base64;
    ``cancelled`` is set for ``*``.
    """

    data: bytes | None
    cancelled: bool = False

    def __repr__(self) -> str:
        return f"SaslResponse(cancelled={self.cancelled})"


def parse_sasl_response(line: bytes) -> SaslResponse:
    """Parse one AUTH continuation line: ``*`` cancels, anything else is strict base64."""
    text = line.strip()
    if text == b"*":
        return SaslResponse(None, cancelled=True)
    return SaslResponse(decode_base64(text.decode("ascii", "replace")))


def parse_command(line: bytes) -> Command | Unknown | Invalid:
    """Parse one command line (without its line ending). Never raises."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return Invalid("", "commands must be UTF-8")
    text = text.lstrip(" \t")
    keyword = text.split(None, 1)[0].upper() if text.strip() else ""
    rest = text[len(keyword) + 1 :]
    if not keyword.isascii() or not keyword.isalnum():
        return Unknown(keyword[:8])
    if keyword == "PASS":
        # RFC 1939 §7: the password is everything after the keyword's space.
        return Pass(rest) if rest else Invalid(keyword, "expected a password")
    args = rest.split()
    if keyword in _BARE:
        return _BARE[keyword]() if not args else Invalid(keyword, "takes no arguments")
    if keyword == "USER":
        return User(args[0]) if len(args) == 1 else Invalid(keyword, "expected one login name")
    if keyword == "APOP":
        return Apop(*args) if len(args) == 2 else Invalid(keyword, "expected name and digest")
    if keyword in ("LIST", "UIDL"):
        return _optional_msg(keyword, args)
    if keyword in ("RETR", "DELE"):
        return _one_msg(keyword, args)
    if keyword == "TOP":
        return _top(args)
    if keyword == "AUTH":
        return _auth(args)
    return Unknown(keyword[:8])
