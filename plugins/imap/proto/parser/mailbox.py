"""Mailbox commands: SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS.

RFC 9051 §6.3.2 to §6.3.8, §6.3.11; the select parameters of RFC 7162 §3.1.8 and §3.2.5;
CREATE's USE parameter of RFC 6154 §3; the STATUS items of RFC 7162, RFC 7889, RFC 8438
and RFC 8474.

    select          = "SELECT" SP mailbox [select-params]
    examine         = "EXAMINE" SP mailbox [select-params]
    select-params   = SP "(" select-param *(SP select-param) ")"
    select-param    =/ "CONDSTORE"
    select-param    =/ "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
                       [SP known-uids] [SP seq-match-data] ")"
    seq-match-data  = "(" known-sequence-set SP known-uid-set ")"
    create          = "CREATE" SP mailbox [create-params]
    create-params   = SP "(" create-param *(SP create-param) ")"
    create-param    =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"
    use-attr        = "\\All" / "\\Archive" / "\\Drafts" / "\\Flagged" /
                      "\\Junk" / "\\Sent" / "\\Trash" / use-attr-ext
    use-attr-ext    = "\\" atom
    delete          = "DELETE" SP mailbox
    rename          = "RENAME" SP mailbox SP mailbox
    subscribe       = "SUBSCRIBE" SP mailbox
    unsubscribe     = "UNSUBSCRIBE" SP mailbox
    status          = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
"""

from __future__ import annotations

from typing import Final, cast

from plugins.imap.proto.commands import (
    Create,
    Delete,
    Examine,
    QResync,
    Rename,
    Select,
    StatusItem,
    Subscribe,
    Unsubscribe,
)
from plugins.imap.proto.commands import Status as StatusCommand
from plugins.imap.proto.parser.core import Reader

__all__ = [
    "STATUS_ITEMS",
    "parse_create",
    "parse_delete",
    "parse_rename",
    "parse_select",
    "parse_status",
    "parse_subscribe",
    "parse_unsubscribe",
    "status_item",
]

#: Every STATUS item we parse (RFC 9051 §6.3.11 plus RFC 3501's RECENT and extensions).
STATUS_ITEMS: Final = frozenset(
    {
        "MESSAGES",
        "UIDNEXT",
        "UIDVALIDITY",
        "UNSEEN",
        "DELETED",
        "SIZE",
        "RECENT",
        "HIGHESTMODSEQ",
        "APPENDLIMIT",
        "MAILBOXID",
    }
)

_SPECIAL_USE: Final = {
    a.upper(): a
    for a in ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")
}


def parse_select(r: Reader, tag: str, name: str) -> Select | Examine:
    """``SELECT``/``EXAMINE mailbox [(CONDSTORE) | (QRESYNC (...))]``; other parameters are BAD."""
    r.sp()
    mailbox = r.mailbox()
    condstore = False
    qresync: QResync | None = None
    if not r.at_end():
        r.sp()
        for param, value in r.paren_list(lambda: _select_param(r)):
            if param == "CONDSTORE" and not condstore:
                condstore = True
            elif isinstance(value, QResync) and qresync is None:
                qresync = value
            else:
                raise r.error(f"repeated SELECT parameter {param}")
    r.end()
    cls = Select if name == "SELECT" else Examine
    return cls(tag, mailbox, condstore, qresync)


def _select_param(r: Reader) -> tuple[str, QResync | None]:
    param = r.keyword()
    if param == "CONDSTORE":
        return param, None
    if param == "QRESYNC":
        r.sp()
        return param, _qresync(r)
    raise r.error(f"unknown SELECT parameter {param}")


def _qresync(r: Reader) -> QResync:
    # RFC 7162 §3.2.5: "*" is not allowed in known-uids or seq-match-data.
    r.expect(b"(")
    uidvalidity = r.nz_number()
    r.sp()
    modseq = r.nz_number64()
    known = None
    match = None
    if r.take(b" "):
        if r.peek() != 0x28:  # "("
            known = r.sequence_set(star=False, saved=False)
            if r.take(b" ") and r.peek() != 0x28:
                raise r.error("expected seq-match-data")
        if r.take(b"("):
            seqs = r.sequence_set(star=False, saved=False)
            r.sp()
            uids = r.sequence_set(star=False, saved=False)
            r.expect(b")")
            match = (seqs, uids)
    r.expect(b")")
    return QResync(uidvalidity, modseq, known, match)


def parse_create(r: Reader, tag: str) -> Create:
    r"""``CREATE mailbox [(USE (\Drafts ...))]`` (RFC 6154 §3)."""
    r.sp()
    mailbox = r.mailbox()
    uses: tuple[str, ...] = ()
    if not r.at_end():
        r.sp()
        params = r.paren_list(lambda: _create_param(r))
        if len(params) > 1:
            raise r.error("repeated CREATE parameter USE")
        uses = params[0]
    r.end()
    return Create(tag, mailbox, uses)


def _create_param(r: Reader) -> tuple[str, ...]:
    param = r.keyword()
    if param != "USE":
        raise r.error(f"unknown CREATE parameter {param}")
    r.sp()
    return tuple(r.paren_list(lambda: _use_attr(r), empty=True))


def _use_attr(r: Reader) -> str:
    r.expect(b"\\")
    name = "\\" + r.atom()
    return _SPECIAL_USE.get(name.upper(), name)


def _one_mailbox(r: Reader) -> str:
    r.sp()
    mailbox = r.mailbox()
    r.end()
    return mailbox


def parse_delete(r: Reader, tag: str) -> Delete:
    """``DELETE mailbox``."""
    return Delete(tag, _one_mailbox(r))


def parse_subscribe(r: Reader, tag: str) -> Subscribe:
    """``SUBSCRIBE mailbox``."""
    return Subscribe(tag, _one_mailbox(r))


def parse_unsubscribe(r: Reader, tag: str) -> Unsubscribe:
    """``UNSUBSCRIBE mailbox``."""
    return Unsubscribe(tag, _one_mailbox(r))


def parse_rename(r: Reader, tag: str) -> Rename:
    """``RENAME existing new``."""
    r.sp()
    old = r.mailbox()
    r.sp()
    new = r.mailbox()
    r.end()
    return Rename(tag, old, new)


def status_item(r: Reader) -> StatusItem:
    """One ``status-att``, upper-cased; unknown items are BAD."""
    item = r.keyword()
    if item not in STATUS_ITEMS:
        raise r.error(f"unknown STATUS item {item}")
    return cast(StatusItem, item)


def parse_status(r: Reader, tag: str) -> StatusCommand:
    """``STATUS mailbox (items)``."""
    r.sp()
    mailbox = r.mailbox()
    r.sp()
    items = tuple(r.paren_list(lambda: status_item(r)))
    r.end()
    return StatusCommand(tag, mailbox, items)
