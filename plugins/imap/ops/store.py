"""STORE and UID STORE (RFC 9051 §6.4.6, §6.4.9; RFC 7162 §3.1.3 UNCHANGEDSINCE).

Implementation notes:

* Flags become store keywords (:mod:`plugins.imap.flags`); ``\\Recent`` cannot be set
  (RFC 3501 §2.3.2) and is ignored. A keyword the store cannot hold is BAD.
* ``FLAGS`` (replace) is written as add/remove per group of messages that share their
  current flags, so each store write is one transaction per distinct flag set.
* RFC 4314 §4: ``\\Seen`` needs ``s``, ``\\Deleted`` needs ``t``, other flags ``w``.
* UNCHANGEDSINCE: a message whose MODSEQ is above the value is left alone and listed
  in ``[MODIFIED ...]`` (RFC 7162 §3.1.3). The view is refreshed from the store first;
  deviation(RFC 7162 §3.1.3): the test and the write are two store transactions, so
  a change committed between them by another session is not detected (the store's
  ``set_keywords`` has no condition yet).
* Replies: without ``.SILENT`` a ``FETCH (FLAGS ...)`` for every message of the set;
  with CONDSTORE they carry ``MODSEQ`` (and UID), and even ``.SILENT`` sends
  ``FETCH (MODSEQ ...)`` for the messages changed (RFC 7162 §3.1.3, §3.2.4).
"""

from __future__ import annotations

from kernel.errors import StoreError
from plugins.imap.context import Session
from plugins.imap.errors import Done, bad, no, store_failure
from plugins.imap.flags import RECENT, flag_to_keyword, keywords_to_flags
from plugins.imap.ops._common import select_uids
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Store
from plugins.imap.proto.sequence import SequenceSet
from plugins.imap.selected import SelectedMailbox

__all__ = ["store"]


def _keywords(flags: tuple[str, ...]) -> frozenset[str]:
    out = set()
    for flag in flags:
        if flag.lower() == RECENT.lower():
            continue
        try:
            out.add(flag_to_keyword(flag))
        except ValueError:
            raise bad(f"Cannot store {flag}") from None
    return frozenset(out)


def _check_rights(rights: str, keywords: frozenset[str]) -> None:
    for keyword in keywords:
        right = {"$seen": "s", "$deleted": "t"}.get(keyword, "w")
        if right not in rights:
            raise no("Permission denied", codes.NOPERM)


def _target(action: str, current: frozenset[str], keywords: frozenset[str]) -> frozenset[str]:
    if action == "add":
        return current | keywords
    if action == "remove":
        return current - keywords
    return keywords


async def _write(
    session: Session, view: SelectedMailbox, changes: dict[int, frozenset[str]]
) -> dict[int, int]:
    """Write the new keyword sets; returns the new MODSEQ of each changed UID."""
    groups: dict[tuple[frozenset[str], frozenset[str]], list[int]] = {}
    for uid, target in changes.items():
        current = view.flags_of(uid)
        key = (target - current, current - target)
        groups.setdefault(key, []).append(uid)
    modseqs: dict[int, int] = {}
    try:
        for (add, remove), uids in groups.items():
            modseq = await session.store.emails.set_keywords(
                view.account, [view.email_of(u) for u in uids], add=add, remove=remove
            )
            for uid in uids:
                modseqs[uid] = modseq
    except ValueError:
        raise bad("Invalid keyword") from None
    except StoreError as exc:
        raise store_failure(exc) from exc
    return modseqs


async def store(session: Session, cmd: Store) -> Done:
    """RFC 9051 §6.4.6."""
    view = session.view()
    if view.read_only:
        raise no("Mailbox is read-only", codes.READ_ONLY)
    keywords = _keywords(cmd.flags)
    uids = select_uids(session, cmd.sequence, uid=cmd.uid)
    modified: list[int] = []
    if cmd.unchanged_since is not None:
        session.enabled.add("CONDSTORE")  # RFC 7162 §3.1: CONDSTORE-enabling
        await session.refresh(force=True)
        modified = [u for u in uids if view.modseq_of(u) > cmd.unchanged_since]
    skip = set(modified)
    live = [u for u in uids if u not in skip and not view.is_expunged(u)]
    changes = {}
    for uid in live:
        target = _target(cmd.action, view.flags_of(uid), keywords)
        if target != view.flags_of(uid):
            changes[uid] = target
    touched = frozenset().union(*(t ^ view.flags_of(u) for u, t in changes.items()))
    _check_rights(session.selected_rights, touched)
    modseqs = await _write(session, view, changes)
    for uid, modseq in modseqs.items():
        view.reported(uid, changes[uid], modseq)
    condstore = session.condstore
    out = []
    for uid in live:
        seq = view.seq_of(uid)
        if seq is None:
            continue
        show_uid = uid if cmd.uid or condstore else None
        modseq = view.modseq_of(uid) if condstore else None
        if not cmd.silent:
            flags = keywords_to_flags(view.flags_of(uid), recent=view.is_recent(uid))
            out.append(r.fetch_flags(seq, flags, uid=show_uid, modseq=modseq))
        elif condstore and uid in modseqs:
            item = b"UID %d MODSEQ (%d)" % (uid, modseqs[uid]) if show_uid else b""
            out.append(b"* %d FETCH (%s)\r\n" % (seq, item or b"MODSEQ (%d)" % modseqs[uid]))
    if out:
        await session.send(*out)
    if modified:
        numbers = modified if cmd.uid else [view.seq_of(u) or 0 for u in modified]
        return Done("Conditional STORE failed", r.code_modified(SequenceSet.of(numbers)))
    return Done("STORE completed")
