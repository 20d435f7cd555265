"""Helpers several ops share: naming a mailbox, checking rights, picking messages.

Implementation notes:

* A mailbox name that is not valid modified UTF-7 (or NUL-bearing UTF-8) is ``BAD``
  (RFC 9051 Appendix A.1: the name cannot exist); one that names nothing visible is
  ``NO [NONEXISTENT]`` (RFC 5530 §3), or ``NO [TRYCREATE]`` for a target of APPEND,
  COPY and MOVE (RFC 9051 §6.3.12, §6.4.7).
* Rights follow RFC 4314 §4: ``l`` to see, ``r`` to select or read, ``i`` to append or
  copy into, ``k`` to create below, ``x`` to delete or rename, ``e`` to expunge.
"""

from __future__ import annotations

from plugins.imap.context import Session
from plugins.imap.errors import bad, no
from plugins.imap.names import MailboxRef, Tree, decode_name
from plugins.imap.proto import codes
from plugins.imap.proto.sequence import SequenceSet

__all__ = ["account", "load_tree", "mailbox_name", "need_right", "resolve", "select_uids"]


def account(session: Session) -> int:
    """The logged-in account's store id (the dispatcher checked the state)."""
    assert session.account_id is not None
    return session.account_id


def mailbox_name(session: Session, wire: str) -> str:
    """The Unicode mailbox name of a command argument; BAD if it cannot be one."""
    try:
        name = decode_name(wire, utf8=session.utf8)
    except ValueError:
        raise bad("Invalid mailbox name") from None
    if "\x00" in name or not name:
        raise bad("Invalid mailbox name")
    return name


async def load_tree(session: Session) -> Tree:
    """The mailboxes the user sees now."""
    return await Tree.load(session.store, account(session))


async def resolve(
    session: Session, wire: str, *, missing: str = codes.NONEXISTENT
) -> tuple[Tree, MailboxRef]:
    """The visible, selectable mailbox a command names, or NO with code ``missing``."""
    name = mailbox_name(session, wire)
    tree = await load_tree(session)
    ref = tree.find(name)
    if ref is None or ref.mailbox is None:
        raise no("No such mailbox", missing)
    return tree, ref


def need_right(ref: MailboxRef, right: str) -> None:
    """NO [NOPERM] unless the user has ``right`` on ``ref`` (RFC 4314 §4)."""
    if right not in ref.rights:
        raise no("Permission denied", codes.NOPERM)


def select_uids(session: Session, sequence: SequenceSet, *, uid: bool) -> list[int]:
    """The UIDs a command's sequence set names in the selected mailbox, ascending.

    ``$`` is the saved search result (RFC 5182 §2); message numbers beyond the last
    message are BAD (RFC 9051 §9 seq-number), unknown UIDs are skipped.
    """
    view = session.view()
    if sequence.saved:
        return sorted(u for u in session.saved if view.seq_of(u) is not None)
    if uid:
        return view.resolve_uids(sequence)
    try:
        return view.resolve_seqs(sequence)
    except ValueError:
        raise bad("Invalid message sequence number") from None
