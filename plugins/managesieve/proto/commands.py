"""Commands: a line's tokens to frozen dataclasses, and script-name checks (RFC 5804 §1.6).

RFC 5804 §4::

    command-authenticate  = "AUTHENTICATE" SP auth-type [SP string]
    command-havespace     = "HAVESPACE" SP sieve-name SP number
    command-putscript     = "PUTSCRIPT" SP sieve-name SP sieve-script
    command-checkscript   = "CHECKSCRIPT" SP sieve-script
    command-renamescript  = "RENAMESCRIPT" SP old-sieve-name SP new-sieve-name
    command-setactive     = "SETACTIVE" SP active-sieve-name
    command-getscript     = "GETSCRIPT" SP sieve-name
    command-deletescript  = "DELETESCRIPT" SP sieve-name
    command-noop          = "NOOP" [SP string]
    ; and CAPABILITY, LOGOUT, STARTTLS, LISTSCRIPTS, UNAUTHENTICATE without arguments

Implementation notes:

* Command names are case-insensitive (§4). The mechanism name may come as
  a string (the grammar) or an atom (some clients).
* Script names are strings (a quoted one or a literal), UTF-8, without the
  control characters §1.6 forbids. Net-Unicode ([NET-UNICODE], §2) asks for NFC:
  a name is normalised to NFC, so the same name in another normal form
  addresses the same script.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final, final

from plugins.managesieve.proto.receiver import Atom, Number, String, Token

__all__ = [
    "MIN_NAME_LENGTH",
    "Authenticate",
    "BadArguments",
    "Capability",
    "CheckScript",
    "Command",
    "DeleteScript",
    "GetScript",
    "HaveSpace",
    "ListScripts",
    "Logout",
    "Noop",
    "PutScript",
    "RenameScript",
    "SetActive",
    "StartTls",
    "Unauthenticate",
    "Unknown",
    "parse_command",
    "script_name",
]

#: §1.6: "Servers MUST allow names of up to 128 Unicode characters in length".
MIN_NAME_LENGTH: Final = 128


@final
@dataclass(frozen=True, slots=True)
class Authenticate:
    mechanism: str
    initial_response: bytes | None  # still base64; None when absent


@final
@dataclass(frozen=True, slots=True)
class StartTls:
    pass


@final
@dataclass(frozen=True, slots=True)
class Capability:
    pass


@final
@dataclass(frozen=True, slots=True)
class Logout:
    pass


@final
@dataclass(frozen=True, slots=True)
class Noop:
    tag: bytes | None


@final
@dataclass(frozen=True, slots=True)
class Unauthenticate:
    pass


@final
@dataclass(frozen=True, slots=True)
class HaveSpace:
    name: str
    size: int


@final
@dataclass(frozen=True, slots=True)
class PutScript:
    name: str
    script: bytes


@final
@dataclass(frozen=True, slots=True)
class CheckScript:
    script: bytes


@final
@dataclass(frozen=True, slots=True)
class ListScripts:
    pass


@final
@dataclass(frozen=True, slots=True)
class SetActive:
    name: str  # "" deactivates (§2.8)


@final
@dataclass(frozen=True, slots=True)
class GetScript:
    name: str


@final
@dataclass(frozen=True, slots=True)
class DeleteScript:
    name: str


@final
@dataclass(frozen=True, slots=True)
class RenameScript:
    old: str
    new: str


@final
@dataclass(frozen=True, slots=True)
class Unknown:
    """A command name this server does not know."""

    name: str


@final
@dataclass(frozen=True, slots=True)
class BadArguments:
    """A known command with wrong arguments; ``reason`` says what."""

    name: str
    reason: str


Command = (
    Authenticate
    | StartTls
    | Capability
    | Logout
    | Noop
    | Unauthenticate
    | HaveSpace
    | PutScript
    | CheckScript
    | ListScripts
    | SetActive
    | GetScript
    | DeleteScript
    | RenameScript
)


class _Invalid(Exception):
    pass


# §1.6: prohibited in names, besides what Net-Unicode excludes.
def _forbidden(char: str) -> bool:
    code = ord(char)
    return code <= 0x1F or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029)


def script_name(raw: bytes, *, max_length: int, allow_empty: bool = False) -> str:
    """A script name checked against §1.6 and normalised to NFC.

    Raises:
        ValueError: with the reason (not UTF-8, a control character, empty, too long).
    """
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("script name is not UTF-8") from None
    if not name and not allow_empty:
        raise ValueError("script name is empty")
    if any(_forbidden(c) for c in name):
        raise ValueError("script name contains a control character")
    name = unicodedata.normalize("NFC", name)
    # §1.6: "MUST reject ... MUST NOT truncate the script name".
    if len(name) > max(max_length, MIN_NAME_LENGTH):
        raise ValueError(
            f"script name is longer than {max(max_length, MIN_NAME_LENGTH)} characters"
        )
    return name


def _string(token: Token) -> bytes:
    if not isinstance(token, String):
        raise _Invalid("expected a string")
    return token.value


def _mechanism(token: Token) -> str:
    if isinstance(token, Atom):
        return token.value
    value = _string(token)
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise _Invalid("bad mechanism name") from None


def _arity(args: tuple[Token, ...], low: int, high: int | None = None) -> None:
    top = low if high is None else high
    if not low <= len(args) <= top:
        raise _Invalid("wrong number of arguments")


def _build(name: str, args: tuple[Token, ...], max_name: int) -> Command | Unknown:
    def sieve_name(token: Token, allow_empty: bool = False) -> str:
        try:
            return script_name(_string(token), max_length=max_name, allow_empty=allow_empty)
        except ValueError as exc:
            raise _Invalid(str(exc)) from None

    simple: dict[str, Command] = {
        "STARTTLS": StartTls(),
        "CAPABILITY": Capability(),
        "LOGOUT": Logout(),
        "UNAUTHENTICATE": Unauthenticate(),
        "LISTSCRIPTS": ListScripts(),
    }
    if name in simple:
        _arity(args, 0)
        return simple[name]
    if name == "AUTHENTICATE":
        _arity(args, 1, 2)
        initial = _string(args[1]) if len(args) == 2 else None
        return Authenticate(_mechanism(args[0]).upper(), initial)
    if name == "NOOP":
        _arity(args, 0, 1)
        return Noop(_string(args[0]) if args else None)
    if name == "HAVESPACE":
        _arity(args, 2)
        if not isinstance(args[1], Number):
            raise _Invalid("expected a number")
        return HaveSpace(sieve_name(args[0]), args[1].value)
    if name == "PUTSCRIPT":
        _arity(args, 2)
        return PutScript(sieve_name(args[0]), _string(args[1]))
    if name == "CHECKSCRIPT":
        _arity(args, 1)
        return CheckScript(_string(args[0]))
    if name == "SETACTIVE":
        _arity(args, 1)
        return SetActive(sieve_name(args[0], allow_empty=True))
    if name == "GETSCRIPT":
        _arity(args, 1)
        return GetScript(sieve_name(args[0]))
    if name == "DELETESCRIPT":
        _arity(args, 1)
        return DeleteScript(sieve_name(args[0]))
    if name == "RENAMESCRIPT":
        _arity(args, 2)
        return RenameScript(sieve_name(args[0]), sieve_name(args[1]))
    return Unknown(name)


def parse_command(tokens: tuple[Token, ...], *, max_name: int) -> Command | Unknown | BadArguments:
    """The command a line's tokens make."""
    if not tokens or not isinstance(tokens[0], Atom):
        return BadArguments("", "a command starts with its name")
    name = tokens[0].value.upper()
    try:
        return _build(name, tokens[1:], max_name)
    except _Invalid as exc:
        return BadArguments(name, str(exc))
