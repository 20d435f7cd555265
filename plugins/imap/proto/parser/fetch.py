"""FETCH and UID FETCH (RFC 9051 §6.4.5; RFC 3501 §6.4.5; RFC 7162 §3.1.4, §3.2.6; RFC 8970).

    fetch           = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
                      fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
    fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
    fetch-modifier  =/ "CHANGEDSINCE" SP mod-sequence-value / "VANISHED"
    fetch-att       = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822.SIZE" /
                      "BODY" ["STRUCTURE"] / "UID" /
                      "BODY" section [partial] / "BODY.PEEK" section [partial] /
                      "BINARY" [".PEEK"] section-binary [partial] /
                      "BINARY.SIZE" section-binary
    fetch-att       =/ "RFC822" / "RFC822.HEADER" / "RFC822.TEXT"   ; RFC 3501
    fetch-att       =/ "MODSEQ"                                      ; RFC 7162
    fetch-att       =/ "EMAILID" / "THREADID"                        ; RFC 8474
    fetch-att       =/ "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]  ; RFC 8970
    preview-mod     = "LAZY"
    section         = "[" [section-spec] "]"
    section-binary  = "[" [section-part] "]"
    section-spec    = section-msgtext / (section-part ["." section-text])
    section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
    section-text    = section-msgtext / "MIME"
    section-part    = nz-number *("." nz-number)
    header-list     = "(" header-fld-name *(SP header-fld-name) ")"
    partial         = "<" number64 "." nz-number64 ">"

RFC 9051 §6.4.5: ALL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE), FAST = (FLAGS
INTERNALDATE RFC822.SIZE), FULL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY).
"""

from __future__ import annotations

import re
from typing import Final, Literal, cast

from plugins.imap.proto.commands import Fetch
from plugins.imap.proto.fetch_items import (
    BinarySection,
    BinarySize,
    BodySection,
    FetchItem,
    Section,
    SimpleItem,
    SimpleName,
)
from plugins.imap.proto.parser.core import Reader

__all__ = ["MACROS", "fetch_att", "parse_fetch"]

_NAME = re.compile(rb"[A-Za-z0-9.]+")
_SECTION_WORD = re.compile(rb"[A-Za-z.]+")

_SIMPLE: Final = frozenset(
    {
        "BODY",
        "BODYSTRUCTURE",
        "EMAILID",
        "ENVELOPE",
        "FLAGS",
        "INTERNALDATE",
        "MODSEQ",
        "PREVIEW",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.SIZE",
        "RFC822.TEXT",
        "THREADID",
        "UID",
    }
)


def _items(*names: str) -> tuple[FetchItem, ...]:
    return tuple(SimpleItem(cast(SimpleName, n)) for n in names)


#: The FETCH macros, expanded (RFC 9051 §6.4.5).
MACROS: Final = {
    "ALL": _items("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": _items("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": _items("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}

_SectionSpec = Literal["", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"]


def _part(r: Reader) -> tuple[int, ...]:
    part = [r.nz_number()]
    while r.peek_is(b".") and r.data[r.pos + 1 : r.pos + 2].isdigit():
        r.pos += 1
        part.append(r.nz_number())
    return tuple(part)


def _section(r: Reader) -> Section:
    r.expect(b"[")
    if r.take(b"]"):
        return Section()
    part: tuple[int, ...] = ()
    if r.peek() in range(0x30, 0x3A):
        part = _part(r)
        if r.take(b"]"):
            return Section(part)
        r.expect(b".")
    m = _SECTION_WORD.match(r.data, r.pos)
    word = m.group().decode("ascii").upper() if m else ""
    if word not in ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME") or (
        word == "MIME" and not part
    ):
        raise r.error("bad section specifier")
    r.pos += len(word)
    fields: tuple[str, ...] = ()
    if word.startswith("HEADER.FIELDS"):
        r.sp()
        fields = tuple(n.upper() for n in r.paren_list(r.astring_text))
    r.expect(b"]")
    return Section(part, cast(_SectionSpec, word), fields)


def _binary_part(r: Reader) -> tuple[int, ...]:
    r.expect(b"[")
    if r.take(b"]"):
        return ()
    part = _part(r)
    r.expect(b"]")
    return part


def _partial(r: Reader) -> tuple[int, int] | None:
    if not r.take(b"<"):
        return None
    origin = r.number64()
    r.expect(b".")
    length = r.nz_number64()
    r.expect(b">")
    return origin, length


def fetch_att(r: Reader) -> FetchItem:
    """One ``fetch-att`` (no macros): also used by NOTIFY's MessageNew (RFC 5465 §5.2)."""
    m = _NAME.match(r.data, r.pos)
    name = m.group().decode("ascii").upper() if m else ""
    r.pos += len(name)
    if r.peek() == 0x5B:  # "["
        if name in ("BODY", "BODY.PEEK"):
            section = _section(r)
            return BodySection(section, name == "BODY.PEEK", _partial(r))
        if name in ("BINARY", "BINARY.PEEK"):
            part = _binary_part(r)
            return BinarySection(part, name == "BINARY.PEEK", _partial(r))
        if name == "BINARY.SIZE":
            return BinarySize(_binary_part(r))
        raise r.error(f"{name or 'this item'} takes no section")
    if name not in _SIMPLE:
        raise r.error(f"unknown FETCH item {name}" if name else "expected a FETCH item")
    if name == "PREVIEW" and r.peek_is(b" ("):
        r.pos += 2
        lazy = r.peek_keyword() == "LAZY"
        r.pos -= 2
        if lazy:
            r.sp()
            r.paren_list(lambda: _lazy(r))
    return SimpleItem(cast(SimpleName, name))


def _lazy(r: Reader) -> str:
    if not r.take_keyword("LAZY"):
        raise r.error("unknown PREVIEW modifier")
    return "LAZY"


def parse_fetch(r: Reader, tag: str, uid: bool) -> Fetch:
    """``[UID] FETCH set items [(CHANGEDSINCE n [VANISHED])]``."""
    r.sp()
    sequence = r.sequence_set()
    r.sp()
    macro = r.peek_keyword()
    if macro in MACROS:
        r.pos += len(macro)
        items = MACROS[macro]
    elif r.peek() == 0x28:
        items = tuple(r.paren_list(lambda: fetch_att(r)))
    else:
        items = (fetch_att(r),)
    changed_since: int | None = None
    vanished = False
    if not r.at_end():
        r.sp()
        for name, value in r.paren_list(lambda: _modifier(r)):
            if name == "CHANGEDSINCE" and changed_since is None:
                changed_since = value
            elif name == "VANISHED" and not vanished:
                vanished = True
            else:
                raise r.error(f"repeated FETCH modifier {name}")
    r.end()
    # RFC 7162 §3.2.6: VANISHED only with UID FETCH, and only together with CHANGEDSINCE.
    if vanished and (not uid or changed_since is None):
        raise r.error("VANISHED needs UID FETCH and CHANGEDSINCE")
    return Fetch(tag, sequence, items, changed_since, vanished, uid)


def _modifier(r: Reader) -> tuple[str, int]:
    name = r.keyword()
    if name == "CHANGEDSINCE":
        r.sp()
        return name, r.nz_number64()
    if name == "VANISHED":
        return name, 0
    raise r.error(f"unknown FETCH modifier {name}")
