"""GETMETADATA and SETMETADATA (RFC 5464 §4.2, §4.3, formal syntax §5).

    getmetadata        = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries
    getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"
    maxsize-opt        = "MAXSIZE" SP number
    scope-opt          = "DEPTH" SP ("0" / "1" / "infinity")
    entries            = entry / "(" entry *(SP entry) ")"
    entry              = astring       ; MUST NOT contain "*" or "%"
    setmetadata        = "SETMETADATA" SP mailbox SP entry-values
    entry-values       = "(" entry-value *(SP entry-value) ")"
    entry-value        = entry SP value
    value              = nstring / literal8

Implementation notes: the RFC's own examples (§4.2.1, §4.2.2) put the options *after*
the mailbox, against its ABNF; both placements are accepted (entries begin with "/",
so ``(`` followed by MAXSIZE or DEPTH can only be options). The empty mailbox name
``""`` addresses server annotations and is passed through as ``""``.
"""

from __future__ import annotations

from typing import Literal, cast

from plugins.imap.proto.commands import GetMetadata, SetMetadata
from plugins.imap.proto.parser.core import Reader

__all__ = ["entry_name", "parse_getmetadata", "parse_setmetadata"]


def entry_name(r: Reader) -> str:
    """``entry``: an astring without ``*`` or ``%``."""
    name = r.text(r.astring())
    if not name or "*" in name or "%" in name:
        raise r.error("invalid metadata entry name")
    return name


def _options(r: Reader) -> tuple[int | None, str]:
    maxsize: int | None = None
    depth = "0"

    def option() -> None:
        nonlocal maxsize, depth
        name = r.keyword()
        r.sp()
        if name == "MAXSIZE":
            maxsize = r.number()
        elif name == "DEPTH":
            value = r.atom().lower()
            if value not in ("0", "1", "infinity"):
                raise r.error("DEPTH must be 0, 1 or infinity")
            depth = value
        else:
            raise r.error(f"unknown GETMETADATA option {name}")

    r.paren_list(option)
    return maxsize, depth


def _starts_options(r: Reader) -> bool:
    if r.peek() != 0x28:
        return False
    r.pos += 1
    word = r.peek_keyword()
    r.pos -= 1
    return word in ("MAXSIZE", "DEPTH")


def parse_getmetadata(r: Reader, tag: str) -> GetMetadata:
    """``GETMETADATA [(options)] mailbox [(options)] entries``."""
    r.sp()
    maxsize, depth = None, "0"
    before = r.peek() == 0x28
    if before:
        maxsize, depth = _options(r)
        r.sp()
    mailbox = r.mailbox()
    r.sp()
    if not before and _starts_options(r):
        maxsize, depth = _options(r)
        r.sp()
    multiple = r.peek() == 0x28
    entries = tuple(r.paren_list(lambda: entry_name(r))) if multiple else (entry_name(r),)
    r.end()
    return GetMetadata(tag, mailbox, entries, maxsize, cast(Literal["0", "1", "infinity"], depth))


def parse_setmetadata(r: Reader, tag: str) -> SetMetadata:
    """``SETMETADATA mailbox (entry value ...)``; NIL removes the entry."""
    r.sp()
    mailbox = r.mailbox()
    r.sp()

    def entry_value() -> tuple[str, bytes | None]:
        name = entry_name(r)
        r.sp()
        if r.take_keyword("NIL"):
            return name, None
        if r.peek() == 0x22:
            return name, r.quoted()
        return name, r.literal(binary=True)[0]

    entries = tuple(r.paren_list(entry_value))
    r.end()
    return SetMetadata(tag, mailbox, entries)
