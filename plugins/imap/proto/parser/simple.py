"""Commands with no or trivial arguments (RFC 9051 §6.1 to §6.4; RFC 2971; RFC 4978; RFC 5161).

command-any     = "CAPABILITY" / "LOGOUT" / "NOOP"
command-nonauth = login / authenticate / "STARTTLS"
command-select  = "CLOSE" / "UNSELECT" / "EXPUNGE" / ...
namespace-command = "NAMESPACE"
idle            = "IDLE" CRLF "DONE"
enable          = "ENABLE" 1*(SP capability)
capability      = ("AUTH=" auth-type) / atom
uid-expunge     = "EXPUNGE" SP sequence-set          ; after "UID" SP
id              ::= "ID" SPACE id_params_list         ; RFC 2971 §4
id_params_list  ::= "(" #(string SPACE nstring) ")" / nil
compress        = "COMPRESS" SP algorithm             ; RFC 4978 §5
algorithm       = "DEFLATE"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from plugins.imap.proto.commands import (
    Capability,
    Check,
    Close,
    Command,
    Compress,
    Enable,
    Expunge,
    Id,
    Idle,
    Logout,
    Namespace,
    Noop,
    StartTls,
    UidExpunge,
    Unselect,
)
from plugins.imap.proto.parser.core import Reader

__all__ = [
    "NO_ARGUMENTS",
    "parse_compress",
    "parse_enable",
    "parse_id",
    "parse_no_arguments",
    "parse_uid_expunge",
]

#: Commands that take no argument, by name: each class is called with the tag.
NO_ARGUMENTS: Final[dict[str, Callable[[str], Command]]] = {
    "CAPABILITY": Capability,
    "NOOP": Noop,
    "LOGOUT": Logout,
    "STARTTLS": StartTls,
    "IDLE": Idle,
    "CHECK": Check,
    "CLOSE": Close,
    "UNSELECT": Unselect,
    "EXPUNGE": Expunge,
    "NAMESPACE": Namespace,
}

# RFC 2971 §3.3: at most 30 pairs, field names up to 30 octets, values up to 1024.
_ID_MAX_PAIRS: Final = 30
_ID_MAX_FIELD: Final = 30
_ID_MAX_VALUE: Final = 1024


def parse_no_arguments(r: Reader, tag: str, name: str) -> Command:
    """A command without arguments: nothing may follow the name."""
    r.end()
    return NO_ARGUMENTS[name](tag)


def parse_enable(r: Reader, tag: str) -> Enable:
    """``ENABLE`` (RFC 5161 §3.1): one or more capability names, upper-cased."""
    caps = []
    while not r.at_end():
        r.sp()
        caps.append(r.keyword())
    if not caps:
        raise r.error("ENABLE needs at least one capability")
    return Enable(tag, tuple(caps))


def parse_id(r: Reader, tag: str) -> Id:
    """``ID`` (RFC 2971 §3.1): NIL or a list of field/value pairs, limits of §3.3 enforced."""
    r.sp()
    if r.take_keyword("NIL"):
        r.end()
        return Id(tag, None)
    r.expect(b"(")
    pairs: list[tuple[str, str | None]] = []
    while not r.take(b")"):
        if pairs:
            r.sp()
        field = r.text(r.string())
        r.sp()
        raw = r.nstring()
        value = None if raw is None else r.text(raw)
        if len(field.encode()) > _ID_MAX_FIELD or (raw is not None and len(raw) > _ID_MAX_VALUE):
            raise r.error("ID field or value too long")
        pairs.append((field, value))
        if len(pairs) > _ID_MAX_PAIRS:
            raise r.error("more than 30 ID field-value pairs")
    r.end()
    return Id(tag, tuple(pairs))


def parse_compress(r: Reader, tag: str) -> Compress:
    """``COMPRESS DEFLATE`` (RFC 4978 §3): any other mechanism is BAD."""
    r.sp()
    mechanism = r.keyword()
    if mechanism != "DEFLATE":
        raise r.error(f"unknown compression mechanism {mechanism}")
    r.end()
    return Compress(tag, mechanism)


def parse_uid_expunge(r: Reader, tag: str) -> UidExpunge:
    """``UID EXPUNGE sequence-set`` (RFC 4315 §2.1; RFC 9051 §6.4.9)."""
    r.sp()
    uids = r.sequence_set()
    r.end()
    return UidExpunge(tag, uids)
