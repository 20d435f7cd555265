"""APPEND, with MULTIAPPEND (RFC 9051 §6.3.12; RFC 3502 §6; literal8 of RFC 3516 §4.4;
the UTF8 data item of RFC 6855 §4).

    append          = "APPEND" SP mailbox 1*append-message
    append-message  = append-opts SP append-data
    append-opts     = [SP flag-list] [SP date-time]
    append-data     = literal / literal8 / utf8-literal
    utf8-literal    = "UTF8" SP "(" literal8 ")"

Implementation notes: a liberty, ``UTF8 (`` also accepts a plain literal (clients
that do not implement BINARY send one); RFC 6855 §4 asks for literal8. The session
checks that BINARY/UTF8=ACCEPT apply; the parser only records which form was used.
"""

from __future__ import annotations

from datetime import datetime

from plugins.imap.proto.commands import Append, AppendMessage
from plugins.imap.proto.parser.core import Reader

__all__ = ["parse_append"]


def _message(r: Reader) -> AppendMessage:
    flags: tuple[str, ...] = ()
    when: datetime | None = None
    r.sp()
    if r.peek() == 0x28:  # "("
        flags = r.flag_list()
        r.sp()
    if r.peek() == 0x22:  # DQUOTE
        when = r.date_time()
        r.sp()
    if r.take_keyword("UTF8"):
        r.sp()
        r.expect(b"(")
        data, binary = r.literal(binary=True)
        r.expect(b")")
        return AppendMessage(data, flags, when, binary, utf8=True)
    data, binary = r.literal(binary=True)
    return AppendMessage(data, flags, when, binary)


def parse_append(r: Reader, tag: str) -> Append:
    """``APPEND mailbox ([flags] [date-time] literal)...``."""
    r.sp()
    mailbox = r.mailbox()
    messages = [_message(r)]
    while not r.at_end():
        messages.append(_message(r))
    return Append(tag, mailbox, tuple(messages))
