"""NOTIFY (RFC 5465 §3, formal syntax §8).

    notify          = "NOTIFY" SP (notify-set / notify-none)
    notify-set      = "SET" [status-indicator] SP event-groups
    notify-none     = "NONE"
    status-indicator = SP "STATUS"
    one-or-more-mailbox = mailbox / many-mailboxes
    many-mailboxes  = "(" mailbox *(SP mailbox) ")"
    event-groups    = event-group *(SP event-group)
    event-group     = "(" filter-mailboxes SP events ")"
    filter-mailboxes = filter-mailboxes-selected / filter-mailboxes-other
    filter-mailboxes-other = "inboxes" / "personal" / "subscribed" /
                      ( "subtree" SP one-or-more-mailbox ) /
                      ( "mailboxes" SP one-or-more-mailbox )
    filter-mailboxes-selected = "selected" / "selected-delayed"
    events          = ( "(" event *(SP event) ")" ) / "NONE"
    event           = message-event / mailbox-event / user-event / event-ext
    message-event   = ( "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")" ] )
                      / "MessageExpunge" / "FlagChange" / "AnnotationChange"
    mailbox-event   = "MailboxName" / "SubscriptionChange" / "MailboxMetadataChange"
    user-event      = "ServerMetadataChange"
    event-ext       = atom

Implementation notes: the grammar is checked here; the rules between events (MessageNew
and MessageExpunge together, only message events for SELECTED, at most one SELECTED
group, NO [BADEVENT] for unsupported ones: RFC 5465 §3.1, §5) are the session's, since some
are answered with NO rather than BAD. Known event names are given in the RFC's
spelling; unknown ``event-ext`` atoms are kept as sent.
"""

from __future__ import annotations

from typing import Final

from plugins.imap.proto.commands import Notify, NotifyEvent, NotifyGroup
from plugins.imap.proto.fetch_items import FetchItem
from plugins.imap.proto.parser.core import Reader
from plugins.imap.proto.parser.fetch import fetch_att

__all__ = ["parse_notify"]

_EVENTS: Final = {
    e.upper(): e
    for e in (
        "MessageNew",
        "MessageExpunge",
        "FlagChange",
        "AnnotationChange",
        "MailboxName",
        "SubscriptionChange",
        "MailboxMetadataChange",
        "ServerMetadataChange",
    )
}
_FILTERS: Final = frozenset(
    {"SELECTED", "SELECTED-DELAYED", "INBOXES", "PERSONAL", "SUBSCRIBED", "SUBTREE", "MAILBOXES"}
)


def _event(r: Reader) -> NotifyEvent:
    raw = r.atom()
    name = _EVENTS.get(raw.upper(), raw)
    fetch: tuple[FetchItem, ...] = ()
    if name == "MessageNew" and r.peek_is(b" ("):
        r.sp()
        fetch = tuple(r.paren_list(lambda: fetch_att(r)))
    return NotifyEvent(name, fetch)


def _group(r: Reader) -> NotifyGroup:
    r.expect(b"(")
    filt = r.keyword()
    if filt not in _FILTERS:
        raise r.error(f"unknown NOTIFY mailbox filter {filt}")
    mailboxes: tuple[str, ...] = ()
    if filt in ("SUBTREE", "MAILBOXES"):
        r.sp()
        many = r.peek() == 0x28
        mailboxes = tuple(r.paren_list(r.mailbox)) if many else (r.mailbox(),)
    r.sp()
    events: tuple[NotifyEvent, ...] = ()
    if not r.take_keyword("NONE"):
        events = tuple(r.paren_list(lambda: _event(r)))
    r.expect(b")")
    return NotifyGroup(filt, mailboxes, events)


def parse_notify(r: Reader, tag: str) -> Notify:
    """``NOTIFY NONE`` or ``NOTIFY SET [STATUS] (filter events)...``."""
    r.sp()
    word = r.keyword()
    if word == "NONE":
        r.end()
        return Notify(tag, None)
    if word != "SET":
        raise r.error("expected NOTIFY SET or NOTIFY NONE")
    r.sp()
    status = r.take_keyword("STATUS")
    if status:
        r.sp()
    groups = [_group(r)]
    while not r.at_end():
        r.sp()
        groups.append(_group(r))
    return Notify(tag, tuple(groups), status)
