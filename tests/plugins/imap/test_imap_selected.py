"""The selected-mailbox view over synthetic store changes (no store, no trio)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.store import MailboxChanges, Membership
from plugins.imap.proto.sequence import STAR, SequenceSet
from plugins.imap.selected import (
    DefinedFlags,
    Exists,
    Expunge,
    FlagsUpdate,
    Recent,
    RecentTracker,
    SelectedMailbox,
    Snapshot,
    Vanished,
)

MAILBOX = 7


def member(uid: int, modseq: int = 1, email: int | None = None) -> Membership:
    return Membership(MAILBOX, uid, email if email is not None else 1000 + uid, modseq)


def snapshot(uids: list[int], modseq: int = 10, keywords: frozenset[str] = frozenset()) -> Snapshot:
    return Snapshot(
        account=1,
        mailbox=MAILBOX,
        uidvalidity=5,
        uidnext=(max(uids) + 1) if uids else 1,
        highest_modseq=modseq,
        members=[(member(u), keywords) for u in uids],
    )


def changes(
    *,
    changed: tuple[Membership, ...] = (),
    expunged: tuple[int, ...] = (),
    since: int = 10,
    highest: int = 20,
) -> MailboxChanges:
    return MailboxChanges(since=since, highest_modseq=highest, changed=changed, expunged=expunged)


def test_selected_maps_sequence_numbers_to_uids() -> None:
    view = SelectedMailbox(snapshot([3, 5, 9]))
    assert view.exists == 3
    assert [view.uid_of(n) for n in (1, 2, 3)] == [3, 5, 9]
    assert view.seq_of(5) == 2
    assert view.seq_of(4) is None
    with pytest.raises(IndexError):
        view.uid_of(4)


def test_selected_resolves_sequence_sets() -> None:
    view = SelectedMailbox(snapshot([3, 5, 9, 12]))
    assert view.resolve_seqs(SequenceSet(((2, STAR),))) == [5, 9, 12]
    assert view.resolve_seqs(SequenceSet(((3, 1),))) == [3, 5, 9]
    with pytest.raises(ValueError):
        view.resolve_seqs(SequenceSet(((5, 5),)))
    # RFC 9051 §9: n:* includes the last message even when n is above every UID.
    assert view.resolve_uids(SequenceSet(((100, STAR),))) == [12]
    assert view.resolve_uids(SequenceSet(((4, 9), (1, 3)))) == [3, 5, 9]
    assert view.resolve_uids(SequenceSet(((6, 8),))) == []


def test_selected_empty_mailbox_star_selects_nothing() -> None:
    view = SelectedMailbox(snapshot([]))
    assert view.resolve_uids(SequenceSet(((1, STAR),))) == []
    assert view.resolve_seqs(SequenceSet(((1, STAR),))) == []
    with pytest.raises(ValueError):
        view.resolve_seqs(SequenceSet(((1, 1),)))


def test_selected_new_messages_give_one_exists() -> None:
    view = SelectedMailbox(snapshot([1, 2]))
    view.apply(changes(changed=(member(3, 11), member(4, 12))), {})
    assert view.exists == 2  # not announced yet
    assert view.updates(expunge=False) == [Exists(4)]
    assert view.exists == 4
    assert view.updates(expunge=True) == []


def test_selected_expunges_wait_for_a_command_that_allows_them() -> None:
    view = SelectedMailbox(snapshot([1, 2, 3, 4, 5]))
    view.apply(changes(expunged=(2, 4, 5)), {})
    assert view.is_expunged(4)
    assert view.updates(expunge=False) == []
    assert view.exists == 5 and view.uid_of(4) == 4  # numbers do not shift
    # RFC 9051 §7.5.1: highest first, so every number stays right.
    assert view.updates(expunge=True) == [Expunge(5), Expunge(4), Expunge(2)]
    assert list(view.uids) == [1, 3]


def test_selected_qresync_reports_vanished() -> None:
    view = SelectedMailbox(snapshot([1, 2, 3, 4, 5]), qresync=True)
    view.apply(changes(expunged=(2, 3, 5)), {})
    assert view.updates(expunge=True) == [Vanished(SequenceSet(((2, 3), (5, 5))))]
    assert list(view.uids) == [1, 4]


def test_selected_message_added_and_removed_unannounced_is_never_mentioned() -> None:
    view = SelectedMailbox(snapshot([1]), qresync=True)
    view.apply(changes(changed=(member(2, 11),)), {})
    view.apply(changes(expunged=(2,), since=11, highest=12), {})
    assert view.updates(expunge=True) == []
    assert view.exists == 1


def test_selected_expunge_then_new_arrival_order() -> None:
    view = SelectedMailbox(snapshot([1, 2, 3]))
    view.apply(changes(expunged=(1,), changed=(member(4, 12),)), {})
    # Without expunges allowed the new message still comes (after the kept ones).
    assert view.updates(expunge=False) == [Exists(4)]
    assert view.updates(expunge=True) == [Expunge(1)]
    assert list(view.uids) == [2, 3, 4]


def test_selected_flag_changes_are_reported_once() -> None:
    view = SelectedMailbox(snapshot([1, 2, 3]))
    view.apply(changes(changed=(member(2, 15),)), {1002: frozenset({"$seen"})})
    assert view.updates(expunge=False) == [
        FlagsUpdate(seq=2, uid=2, flags=frozenset({"$seen"}), recent=False, modseq=None)
    ]
    # The same state again (e.g. a later poll) says nothing.
    view.apply(changes(changed=(member(2, 15),), since=20), {1002: frozenset({"$seen"})})
    assert view.updates(expunge=False) == []


def test_selected_condstore_reports_modseq_only_changes() -> None:
    view = SelectedMailbox(snapshot([1, 2]), condstore=True)
    view.apply(changes(changed=(member(1, 16),)), {1001: frozenset()})
    assert view.updates(expunge=False) == [
        FlagsUpdate(seq=1, uid=1, flags=frozenset(), recent=False, modseq=16)
    ]
    plain = SelectedMailbox(snapshot([1, 2]))
    plain.apply(changes(changed=(member(1, 16),)), {1001: frozenset()})
    assert plain.updates(expunge=False) == []


def test_selected_flags_of_expunged_message_are_dropped() -> None:
    view = SelectedMailbox(snapshot([1, 2]))
    view.apply(changes(changed=(member(2, 15),)), {1002: frozenset({"$flagged"})})
    view.apply(changes(expunged=(2,), since=20, highest=21), {})
    assert view.updates(expunge=False) == []
    assert view.updates(expunge=True) == [Expunge(2)]


def test_selected_reported_clears_pending_flags() -> None:
    view = SelectedMailbox(snapshot([1, 2]))
    view.apply(changes(changed=(member(1, 15),)), {1001: frozenset({"$seen"})})
    assert view.flags_of(1) == frozenset({"$seen"})
    view.reported(1, frozenset({"$seen"}), 15)
    assert view.updates(expunge=True) == []


def test_selected_reconcile_when_changes_cannot_be_calculated() -> None:
    view = SelectedMailbox(snapshot([1, 2, 3]))
    view.apply(changes(changed=(member(4, 30),)), {})
    view.reconcile([1, 3])
    assert view.updates(expunge=True) == [Expunge(2)]
    assert list(view.uids) == [1, 3]


def test_selected_recent_claimed_by_first_session_only() -> None:
    tracker = RecentTracker()
    first = SelectedMailbox(snapshot([1, 2]), recent=tracker)
    assert first.recent_count == 2
    examined = SelectedMailbox(snapshot([1, 2]), recent=tracker, read_only=True)
    assert examined.recent_count == 0
    second = SelectedMailbox(snapshot([1, 2]), recent=tracker)
    assert second.recent_count == 0
    first.apply(changes(changed=(member(3, 12),)), {})
    second.apply(changes(changed=(member(3, 12),)), {})
    assert first.updates(expunge=True) == [Exists(3), Recent(3)]
    assert second.updates(expunge=True) == [Exists(3), Recent(0)]
    assert first.is_recent(3) and not second.is_recent(3)


def test_selected_rev2_sends_no_recent() -> None:
    view = SelectedMailbox(snapshot([1]))
    view.apply(changes(changed=(member(2, 12),)), {})
    assert view.updates(expunge=True) == [Exists(2)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.booleans(), min_size=0, max_size=30),
    st.lists(
        st.tuples(st.sampled_from(["add", "expunge", "poll"]), st.integers(0, 40)), max_size=40
    ),
    st.booleans(),
)
def test_selected_client_model_stays_in_step(
    initial: list[bool], steps: list[tuple[str, int]], qresync: bool
) -> None:
    """A client applying every update the view sends ends with the store's UIDs."""
    uids = [i + 1 for i, keep in enumerate(initial) if keep]
    view = SelectedMailbox(snapshot(uids), qresync=qresync)
    store = list(uids)
    client = list(uids)
    next_uid = len(initial) + 1
    modseq = 10
    for action, value in steps:
        modseq += 1
        if action == "add":
            store.append(next_uid)
            view.apply(changes(changed=(member(next_uid, modseq),), highest=modseq), {})
            next_uid += 1
        elif action == "expunge" and store:
            uid = store.pop(value % len(store))
            view.apply(changes(expunged=(uid,), highest=modseq), {})
        for update in view.updates(expunge=action == "poll" or value % 3 == 0):
            match update:
                case Exists(count):
                    assert count >= len(client)
                    client.extend(view.uids[len(client) : count])
                case Expunge(seq):
                    del client[seq - 1]
                case Vanished(gone):
                    client = [u for u in client if not gone.contains(u, 0)]
        assert client == list(view.uids)
    for update in view.updates(expunge=True):
        match update:
            case Expunge(seq):
                del client[seq - 1]
            case Vanished(gone):
                client = [u for u in client if not gone.contains(u, 0)]
            case Exists(count):
                client.extend(view.uids[len(client) : count])
    assert client == store


def test_selected_new_keyword_announces_flags() -> None:
    view = SelectedMailbox(snapshot([1, 2], keywords=frozenset({"work"})))
    assert view.keywords == {"work"}
    view.apply(changes(changed=(member(2, 15),)), {1002: frozenset({"$seen", "todo"})})
    updates = view.updates(expunge=False)
    assert updates[0] == DefinedFlags(frozenset({"work", "todo"}))
    view.reported(1, frozenset({"later"}), 16)  # stored by this session
    assert view.updates(expunge=False) == [DefinedFlags(frozenset({"work", "todo", "later"}))]
    assert view.updates(expunge=False) == []
