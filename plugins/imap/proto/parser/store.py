"""STORE and UID STORE (RFC 9051 §6.4.6; UNCHANGEDSINCE of RFC 7162 §3.1.3).

store           = "STORE" SP sequence-set [store-modifiers] SP store-att-flags
store-modifiers = SP "(" store-modifier *(SP store-modifier) ")"
store-modifier  =/ "UNCHANGEDSINCE" SP mod-sequence-valzer
store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP
                  (flag-list / (flag *(SP flag)))
"""

from __future__ import annotations

from typing import Final, Literal

from plugins.imap.proto.commands import Store
from plugins.imap.proto.parser.core import Reader

__all__ = ["parse_store"]

_ACTIONS: Final[dict[str, Literal["set", "add", "remove"]]] = {
    "FLAGS": "set",
    "+FLAGS": "add",
    "-FLAGS": "remove",
}


def parse_store(r: Reader, tag: str, uid: bool) -> Store:
    """``[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags``."""
    r.sp()
    sequence = r.sequence_set()
    r.sp()
    unchanged_since: int | None = None
    if r.peek() == 0x28:  # "(": store modifiers

        def modifier() -> int:
            if not r.take_keyword("UNCHANGEDSINCE"):
                raise r.error("unknown STORE modifier")
            r.sp()
            return r.number64()

        values = r.paren_list(modifier)
        # RFC 7162 §7: only a single UNCHANGEDSINCE may be given.
        if len(values) > 1:
            raise r.error("repeated UNCHANGEDSINCE")
        unchanged_since = values[0]
        r.sp()
    sign = b"" if r.peek() not in (0x2B, 0x2D) else r.data[r.pos : r.pos + 1]
    r.pos += len(sign)
    word = sign.decode("ascii") + r.keyword()
    silent = word.endswith(".SILENT")
    action = _ACTIONS.get(word.removesuffix(".SILENT"))
    if action is None:
        raise r.error("expected [+|-]FLAGS[.SILENT]")
    r.sp()
    if r.peek() == 0x28:
        flags = r.flag_list()
    else:
        items = [r.flag()]
        while not r.at_end():
            r.sp()
            items.append(r.flag())
        flags = tuple(items)
    r.end()
    return Store(tag, sequence, action, flags, silent, unchanged_since, uid)
