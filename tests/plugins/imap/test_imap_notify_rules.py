"""The sans-IO part of NOTIFY (plugins.imap.notify): checking NOTIFY SET, and the
responses owed for the difference between two mailbox snapshots (RFC 5465)."""

from __future__ import annotations

import dataclasses

import pytest

from kernel.store import MailboxChanges, Membership
from plugins.imap.names import decode_name
from plugins.imap.notify import (
    BoxState,
    NotifyError,
    Spec,
    compile_notify,
    diff,
    initial,
    metadata_names,
)
from plugins.imap.proto.commands import Notify
from plugins.imap.proto.parser import parse_command
from plugins.imap.selected import Exists, FlagsUpdate, SelectedMailbox, Snapshot

ME = 1


def _spec(args: str) -> Spec:
    cmd = parse_command(b"a NOTIFY " + args.encode())
    assert isinstance(cmd, Notify)
    return compile_notify(cmd, lambda wire: decode_name(wire, utf8=False))


def _box(box_id: int, name: str, **fields: object) -> BoxState:
    base: dict[str, object] = {
        "id": box_id,
        "name": name,
        "owner": ME,
        "parent": None,
        "rights": "lrswipkxtea",
        "subscribed": True,
        "uidvalidity": 7,
        "uidnext": 1,
        "modseq": 1,
        "attrs": ("\\HasNoChildren",),
        "messages": 0,
        "unseen": 0,
    }
    base.update(fields)
    return BoxState(**base)  # type: ignore[arg-type]


def _diff(spec: Spec, old: list[BoxState], new: list[BoxState], **kw: object) -> list[bytes]:
    options = {"condstore": False, "utf8": False, "selected": None}
    options.update(kw)
    return diff(
        spec,
        {b.id: b for b in old},
        {b.id: b for b in new},
        ME,
        options["selected"],  # type: ignore[arg-type]
        condstore=bool(options["condstore"]),
        utf8=bool(options["utf8"]),
    )


# -- compile_notify ------------------------------------------------------------------


def test_notify_rules_compile_groups() -> None:
    spec = _spec(
        "SET STATUS (selected-delayed (MessageNew (UID FLAGS) MessageExpunge))"
        " (subtree (Lists Archive) (MessageNew MessageExpunge FlagChange))"
        " (personal (MailboxName SubscriptionChange ServerMetadataChange))"
    )
    assert spec.status and spec.delayed
    assert spec.selected == {"MessageNew", "MessageExpunge"}
    assert [item.name for item in spec.fetch] == ["UID", "FLAGS"]
    assert [w.filter for w in spec.watches] == ["SUBTREE", "PERSONAL"]
    assert spec.watches[0].mailboxes == ("Lists", "Archive")
    assert spec.server_metadata


def test_notify_rules_event_names_are_case_insensitive() -> None:
    spec = _spec("SET (mailboxes INBOX (messagenew MESSAGEEXPUNGE flagchange))")
    assert spec.watches[0].events == {"MessageNew", "MessageExpunge", "FlagChange"}


@pytest.mark.parametrize(
    "args",
    [
        "SET (selected (MessageNew))",
        "SET (selected (MessageExpunge))",
        "SET (personal (FlagChange))",
        "SET (personal (MessageNew MessageExpunge AnnotationChange FlagChange MessageNew))"
        " (personal (AnnotationChange))",
        "SET (selected (SubscriptionChange))",
        "SET (selected-delayed (MessageNew MessageExpunge ServerMetadataChange))",
        "SET (selected NONE) (selected-delayed NONE)",
        "SET (inboxes (MessageNew (UID) MessageExpunge))",
    ],
)
def test_notify_rules_bad(args: str) -> None:
    with pytest.raises(NotifyError) as caught:
        _spec(args)
    assert caught.value.status == "BAD"


@pytest.mark.parametrize(
    "args",
    [
        "SET (selected (MessageNew MessageExpunge AnnotationChange))",
        "SET (personal (MailboxName XFuture))",
        "SET (selected (MessageNew MessageExpunge XFuture))",
    ],
)
def test_notify_rules_badevent(args: str) -> None:
    with pytest.raises(NotifyError) as caught:
        _spec(args)
    assert caught.value.status == "NO"
    assert caught.value.code == (
        b"BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"
        b" MailboxMetadataChange ServerMetadataChange)"
    )


def test_notify_rules_none_events_and_filters() -> None:
    spec = _spec("SET (personal NONE) (subscribed (MailboxName))")
    mine = _box(1, "INBOX")
    assert spec.events_for(mine, ME, None) == {"MailboxName"}
    assert spec.events_for(dataclasses.replace(mine, subscribed=False), ME, None) == set()
    spec = _spec("SET (mailboxes Lists (MailboxName)) (subtree Work (MessageNew MessageExpunge))")
    assert spec.events_for(_box(1, "Lists/x"), ME, None) == set()  # no wildcard, exact
    assert spec.events_for(_box(1, "Lists"), ME, None) == {"MailboxName"}
    assert spec.events_for(_box(2, "Work/a/b"), ME, None) == {"MessageNew", "MessageExpunge"}
    assert spec.events_for(_box(2, "Workshop"), ME, None) == set()


def test_notify_rules_inboxes_is_personal_and_rights_matter() -> None:
    spec = _spec("SET (inboxes (MessageNew MessageExpunge))")
    assert spec.events_for(_box(1, "Sent"), ME, None) == {"MessageNew", "MessageExpunge"}
    shared = _box(9, "Shared/bob/x", owner=2)
    assert spec.events_for(shared, ME, None) == set()
    spec = _spec("SET (subtree Shared (MessageNew MessageExpunge))")
    assert spec.events_for(dataclasses.replace(shared, rights="lr"), ME, None)
    unreadable = dataclasses.replace(shared, rights="l")
    assert spec.events_for(unreadable, ME, None) == set()  # RFC 5465 §5: l and r
    assert spec.no_access(unreadable, ME)


def test_notify_rules_selected_overrides_message_events() -> None:
    spec = _spec("SET (personal (MessageNew MessageExpunge MailboxName))")
    assert spec.events_for(_box(1, "INBOX"), ME, 1) == {"MailboxName"}


# -- initial and diff --------------------------------------------------------------------


def test_notify_rules_initial_status_and_noaccess() -> None:
    spec = _spec(
        "SET STATUS (personal (MessageNew MessageExpunge FlagChange))"
        " (subtree Shared (MessageNew MessageExpunge))"
    )
    boxes = {
        1: _box(1, "INBOX", messages=3, uidnext=9, modseq=40),
        2: _box(2, "Shared/bob/x", owner=2, rights="l"),
    }
    out = initial(spec, boxes, ME, None, condstore=True, utf8=False)
    assert out == [
        b'* LIST (\\NoAccess) "/" Shared/bob/x\r\n',
        b"* STATUS INBOX (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 7 HIGHESTMODSEQ 40)\r\n",
    ]
    without = _spec("SET (personal (MessageNew MessageExpunge))")
    assert initial(without, boxes, ME, None, condstore=False, utf8=False) == []


def test_notify_rules_status_for_new_and_expunged_messages() -> None:
    spec = _spec("SET (personal (MessageNew MessageExpunge))")
    old = _box(1, "Lists", messages=1, uidnext=2, modseq=5)
    new = dataclasses.replace(old, messages=2, uidnext=3, modseq=6)
    assert _diff(spec, [old], [new]) == [b"* STATUS Lists (UIDNEXT 3 MESSAGES 2)\r\n"]
    assert _diff(spec, [old], [new], condstore=True) == [
        b"* STATUS Lists (UIDNEXT 3 MESSAGES 2 HIGHESTMODSEQ 6)\r\n"
    ]
    # A flag change without FlagChange asked for: nothing.
    flagged = dataclasses.replace(old, modseq=9, unseen=1)
    assert _diff(spec, [old], [flagged]) == []
    # The selected mailbox: never a STATUS.
    assert _diff(spec, [old], [new], selected=1) == []


def test_notify_rules_status_for_flag_changes() -> None:
    spec = _spec("SET (personal (MessageNew MessageExpunge FlagChange))")
    old = _box(1, "Lists", messages=2, uidnext=3, modseq=5, unseen=2)
    seen = dataclasses.replace(old, modseq=6, unseen=1)
    assert _diff(spec, [old], [seen]) == [b"* STATUS Lists (UNSEEN 1)\r\n"]
    assert _diff(spec, [old], [seen], condstore=True) == [
        b"* STATUS Lists (HIGHESTMODSEQ 6 UIDVALIDITY 7 UNSEEN 1)\r\n"
    ]
    # RFC 5465 §5.1: without CONDSTORE and with UNSEEN unchanged, nothing.
    assert _diff(spec, [old], [dataclasses.replace(old, modseq=7)]) == []


def test_notify_rules_uidvalidity_change_is_reported() -> None:
    spec = _spec("SET (personal (MessageNew MessageExpunge FlagChange))")
    old = _box(1, "Lists", messages=2, uidnext=3)
    new = dataclasses.replace(old, uidvalidity=99, messages=0, uidnext=1)
    assert _diff(spec, [old], [new]) == [
        b"* STATUS Lists (UIDNEXT 1 MESSAGES 0 UIDVALIDITY 99)\r\n"
    ]


def test_notify_rules_baseline_when_a_mailbox_starts_being_watched() -> None:
    spec = _spec("SET (personal (MessageNew MessageExpunge))")
    unwatched = _box(1, "Lists", messages=None, unseen=None)
    new = _box(1, "Lists", messages=4, uidnext=5)
    assert _diff(spec, [unwatched], [new]) == []  # it was selected until now
    # Read access granted: monitoring restarts with a STATUS (RFC 5465 §5.9).
    spec = _spec("SET (subtree Shared (MessageNew MessageExpunge))")
    old = _box(1, "Shared/bob/x", owner=2, rights="l", messages=None, unseen=None)
    new = dataclasses.replace(old, rights="lr", messages=4, uidnext=5)
    assert _diff(spec, [old], [new]) == [b"* STATUS Shared/bob/x (UIDNEXT 5 MESSAGES 4)\r\n"]


def test_notify_rules_mailbox_created_deleted_renamed() -> None:
    spec = _spec("SET (personal (MailboxName))")
    parent = _box(1, "Work", attrs=("\\HasNoChildren",))
    parent_now = dataclasses.replace(parent, attrs=("\\HasChildren",))
    child = _box(2, "Work/a", parent=1)
    assert _diff(spec, [parent], [parent_now, child]) == [
        b'* LIST (\\HasNoChildren \\Subscribed) "/" Work/a\r\n',
        b'* LIST (\\HasChildren \\Subscribed) "/" Work\r\n',
    ]
    assert _diff(spec, [parent_now, child], [parent]) == [
        b'* LIST (\\NonExistent) "/" Work/a\r\n',
        b'* LIST (\\HasNoChildren \\Subscribed) "/" Work\r\n',
    ]
    renamed = dataclasses.replace(parent_now, name="Job")
    renamed_child = dataclasses.replace(child, name="Job/a")
    assert _diff(spec, [parent_now, child], [renamed, renamed_child]) == [
        b'* LIST (\\HasChildren \\Subscribed) "/" Job ("OLDNAME" (Work))\r\n'
    ]


def test_notify_rules_mailbox_name_utf8_and_modified_utf7() -> None:
    spec = _spec("SET (personal (MailboxName))")
    box = _box(1, "Entwürfe")
    assert _diff(spec, [], [box]) == [b'* LIST (\\HasNoChildren \\Subscribed) "/" Entw&APw-rfe\r\n']
    assert _diff(spec, [], [box], utf8=True) == [
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Entwürfe"\r\n'.encode()
    ]


def test_notify_rules_subscription_change() -> None:
    spec = _spec("SET (subscribed (SubscriptionChange))")
    box = _box(1, "Lists")
    off = dataclasses.replace(box, subscribed=False)
    # Leaving the subscribed set is reported too (the old state matched).
    assert _diff(spec, [box], [off]) == [b'* LIST (\\HasNoChildren) "/" Lists\r\n']
    other = _spec("SET (personal (MailboxName))")
    assert _diff(other, [box], [off]) == []


def test_notify_rules_metadata_names() -> None:
    assert metadata_names("INBOX", ["/shared/comment"], utf8=False) == (
        b"* METADATA INBOX /shared/comment\r\n"
    )
    assert metadata_names("", ["/private/a", "/shared/b"], utf8=False) == (
        b'* METADATA "" /private/a /shared/b\r\n'
    )


# -- the selected view's part ------------------------------------------------------------


def test_notify_rules_selected_updates_can_hold_flag_changes() -> None:
    """SELECTED without FlagChange: flag changes wait for a command (RFC 5465 §5)."""
    snapshot = Snapshot(
        account=ME,
        mailbox=5,
        uidvalidity=7,
        uidnext=2,
        highest_modseq=3,
        members=[(Membership(mailbox=5, uid=1, email=10, modseq=3), frozenset())],
    )
    view = SelectedMailbox(snapshot)
    changes = MailboxChanges(
        since=3,
        highest_modseq=5,
        changed=(Membership(5, 1, 10, 4), Membership(5, 2, 11, 5)),
        expunged=(),
    )
    view.apply(changes, {10: frozenset({"$flagged"}), 11: frozenset()})
    assert view.updates(expunge=True, flags=False) == [Exists(2)]
    assert view.has_updates
    assert view.updates(expunge=True) == [
        FlagsUpdate(seq=1, uid=1, flags=frozenset({"$flagged"}), recent=False, modseq=None)
    ]
