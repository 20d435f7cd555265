"""CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.4-§6.3.8).

Implementation notes:

* CREATE makes the missing superior levels too (RFC 9051 §6.3.4 SHOULD) and answers
  ``[MAILBOXID (...)]`` (RFC 8474 §4.1); ``USE (\\Sent)`` gives the mailbox that role
  (RFC 6154 §3, CREATE-SPECIAL-USE), an unknown attribute is ``NO [USEATTR]``.
  New mailboxes are subscribed.
* DELETE of a mailbox with children is ``NO [HASCHILDREN]`` (RFC 9051 §6.3.5 allows
  refusing; the store keeps the hierarchy as parent links, so a deleted parent could
  not stay as a ``\\Noselect`` name). Deleting the selected mailbox deselects it.
* RENAME of INBOX moves its messages into a new mailbox and leaves INBOX empty
  (RFC 9051 §6.3.6); any other rename takes the children along.
* Mailboxes in the other users' namespace need RFC 4314 rights of the owner's grant:
  ``k`` to create below, ``x`` to delete or rename. Their subscription is the user's
  own, kept as a private annotation (:data:`SUBSCRIBED_ENTRY`), since the store's
  ``subscribed`` belongs to the owner.
"""

from __future__ import annotations

from kernel.errors import DuplicateUid, PreconditionFailed, StoreError
from plugins.imap.context import Session
from plugins.imap.errors import Done, no, store_failure
from plugins.imap.ids import mailbox_id
from plugins.imap.names import DELIMITER, ROLES, SHARED_PREFIX, Tree
from plugins.imap.ops._common import account, load_tree, mailbox_name, need_right, resolve
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Create, Delete, Rename, Subscribe, Unsubscribe

__all__ = ["SUBSCRIBED_ENTRY", "create", "delete", "rename", "subscribe", "unsubscribe"]

#: The private annotation holding a user's subscription to another user's mailbox.
SUBSCRIBED_ENTRY = "/private/vendor/stalwart-kernel/subscribed"
_MOVE_BATCH = 500


def _split(name: str) -> list[str]:
    parts = name.split(DELIMITER)
    if any(not part for part in parts):
        raise no("Empty level in mailbox name", codes.CANNOT)
    return parts


async def _make_path(session: Session, tree: Tree, name: str, role: str | None) -> int:
    """Create ``name`` and every missing level above it; returns the new mailbox's id."""
    parts = _split(name)
    if parts[0] == SHARED_PREFIX:
        raise no("Cannot create mailboxes in the shared namespace", codes.CANNOT)
    owner = account(session)
    parent: int | None = None
    created = 0
    for depth in range(1, len(parts) + 1):
        path = DELIMITER.join(parts[:depth])
        ref = tree.find(path)
        last = depth == len(parts)
        if ref is not None and ref.mailbox is not None and not last:
            parent = ref.mailbox.id
            continue
        try:
            box = await session.store.mailboxes.create(
                owner, parts[depth - 1], parent=parent, role=role if last else None
            )
        except ValueError:
            raise no("Invalid mailbox name", codes.CANNOT) from None
        except StoreError as exc:
            raise store_failure(exc) from exc
        parent = created = box.id
    return created


async def create(session: Session, cmd: Create) -> Done:
    """RFC 9051 §6.3.4; RFC 6154 §3 (USE)."""
    name = mailbox_name(session, cmd.mailbox)
    if name.upper() == "INBOX":
        raise no("INBOX exists", codes.ALREADYEXISTS)
    role = None
    if cmd.special_use:
        if len(cmd.special_use) > 1 or cmd.special_use[0].lower() not in ROLES:
            raise no("Unsupported special-use attribute", codes.USEATTR)
        role = ROLES[cmd.special_use[0].lower()]
    tree = await load_tree(session)
    if tree.find(name) is not None:
        raise no("Mailbox exists", codes.ALREADYEXISTS)
    created = await _make_path(session, tree, name, role)
    code = b"MAILBOXID (%s)" % mailbox_id(created).encode()
    return Done("CREATE completed", code)


async def delete(session: Session, cmd: Delete) -> Done:
    """RFC 9051 §6.3.5."""
    tree, ref = await resolve(session, cmd.mailbox)
    assert ref.mailbox is not None
    if ref.mailbox.role == "inbox" and ref.owner == session.account_id:
        raise no("INBOX cannot be deleted", codes.CANNOT)
    need_right(ref, "x")
    if tree.has_children(ref.name):
        raise no("Mailbox has children", codes.HASCHILDREN)
    if session.selected is not None and session.selected.mailbox == ref.mailbox.id:
        session.unselect()
        await session.send(r.untagged("OK", "Mailbox closed", code=codes.CLOSED.encode()))
    try:
        await session.store.mailboxes.delete(ref.owner, ref.mailbox.id)
    except DuplicateUid:
        raise no("Mailbox has children", codes.HASCHILDREN) from None
    except StoreError as exc:
        raise store_failure(exc) from exc
    tracker = session.recent_tracker
    if tracker is not None:
        tracker.forget(ref.mailbox.id)
    return Done("DELETE completed")


async def _rename_inbox(session: Session, tree: Tree, inbox: int, new: str) -> None:
    target = await _make_path(session, tree, new, None)
    owner = account(session)
    try:
        while members := await session.store.emails.in_mailbox(owner, inbox):
            emails = [m.email for m in members[:_MOVE_BATCH]]
            await session.store.emails.move(owner, inbox, emails, target)
    except StoreError as exc:
        raise store_failure(exc) from exc


async def rename(session: Session, cmd: Rename) -> Done:
    """RFC 9051 §6.3.6."""
    tree, ref = await resolve(session, cmd.mailbox)
    assert ref.mailbox is not None
    new = mailbox_name(session, cmd.new_name)
    if tree.find(new) is not None or new.upper() == "INBOX":
        raise no("Target exists", codes.ALREADYEXISTS)
    if ref.owner != session.account_id or new.split(DELIMITER)[0] == SHARED_PREFIX:
        raise no("Cannot rename across namespaces", codes.CANNOT)
    if ref.name == "INBOX":
        await _rename_inbox(session, tree, ref.mailbox.id, new)
        return Done("RENAME completed")
    parts = _split(new)
    parent: int | None = None
    if len(parts) > 1:
        parent_name = DELIMITER.join(parts[:-1])
        if parent_name == ref.name or parent_name.startswith(ref.name + DELIMITER):
            raise no("Cannot move a mailbox under itself", codes.CANNOT)
        found = tree.find(parent_name)
        if found is not None and found.mailbox is not None:
            parent = found.mailbox.id
        else:
            parent = await _make_path(session, tree, parent_name, None)
    try:
        await session.store.mailboxes.update(
            ref.owner, ref.mailbox.id, name=parts[-1], parent=parent
        )
    except ValueError:
        raise no("Invalid mailbox name", codes.CANNOT) from None
    except PreconditionFailed:
        raise no("Cannot rename that mailbox", codes.CANNOT) from None
    except StoreError as exc:
        raise store_failure(exc) from exc
    if session.selected is not None and session.selected.mailbox == ref.mailbox.id:
        session.selected_name = new
    return Done("RENAME completed")


async def _subscription(session: Session, wire: str, on: bool) -> None:
    _, ref = await resolve(session, wire)
    assert ref.mailbox is not None
    try:
        if ref.owner == session.account_id:
            await session.store.mailboxes.update(ref.owner, ref.mailbox.id, subscribed=on)
        else:
            await session.store.metadata.set(
                account(session), ref.mailbox.id, {SUBSCRIBED_ENTRY: b"1" if on else None}
            )
    except StoreError as exc:
        raise store_failure(exc) from exc


async def subscribe(session: Session, cmd: Subscribe) -> Done:
    """RFC 9051 §6.3.7 (a mailbox that does not exist is refused)."""
    await _subscription(session, cmd.mailbox, True)
    return Done("SUBSCRIBE completed")


async def unsubscribe(session: Session, cmd: Unsubscribe) -> Done:
    """RFC 9051 §6.3.8."""
    await _subscription(session, cmd.mailbox, False)
    return Done("UNSUBSCRIBE completed")
