"""COPY, MOVE and their UID forms (RFC 9051 §6.4.7, §6.4.8; RFC 6851 §3).

copy = "COPY" SP sequence-set SP mailbox
move = "MOVE" SP sequence-set SP mailbox
"""

from __future__ import annotations

from plugins.imap.proto.commands import Copy, Move
from plugins.imap.proto.parser.core import Reader

__all__ = ["parse_copy"]


def parse_copy(r: Reader, tag: str, uid: bool, name: str) -> Copy | Move:
    """``[UID] COPY|MOVE set mailbox``."""
    r.sp()
    sequence = r.sequence_set()
    r.sp()
    mailbox = r.mailbox()
    r.end()
    cls = Copy if name == "COPY" else Move
    return cls(tag, sequence, mailbox, uid)
