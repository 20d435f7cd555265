"""SETACL, DELETEACL, GETACL, LISTRIGHTS and MYRIGHTS (RFC 4314 §3).

Implementation notes:

* Identifiers are account names (primary addresses) and ``anyone`` (RFC 4314 §2:
  every authenticated user). A user's rights are the union of its own grant and
  ``anyone``'s (RFC 4314 §2 leaves the combination to the implementation), so a
  mailbox shared with ``anyone`` appears under ``Shared/<owner>/`` for every
  account. There is no anonymous login, so ``anonymous`` is not an identifier;
  it and negative rights (``-name``) are refused with ``NO [CANNOT]``.
* Changing an ACL needs the ``a`` right (RFC 4314 §4): always on one's own mailboxes,
  on a shared one only if granted. The owner's own rights are all of
  ``lrswipkxtea`` and cannot change (``NO [CANNOT]``).
* RFC 4314 §2.1.1: the obsolete ``c`` means ``kx`` and ``d`` means ``xte`` on input;
  responses add ``c``/``d`` whenever one of their member rights is present.
* Grants reach the grantee's sessions as the store's ``shared`` change event; their
  LIST shows the mailbox under ``Shared/<owner>/`` (RFC 2342).
"""

from __future__ import annotations

from kernel.errors import PreconditionFailed, StoreError
from kernel.store import RIGHTS
from kernel.store.mailboxes import ANYONE
from plugins.imap import storeview
from plugins.imap.context import Session
from plugins.imap.errors import Done, bad, no, store_failure
from plugins.imap.names import MailboxRef
from plugins.imap.ops._common import need_right, resolve
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import DeleteAcl, GetAcl, ListRights, MyRights, SetAcl

__all__ = ["delete_acl", "get_acl", "list_rights", "my_rights", "set_acl", "with_virtual"]


def _expand(rights: str) -> set[str]:
    out = set()
    for letter in rights.lower():
        if letter == "c":
            out |= {"k", "x"}
        elif letter == "d":
            out |= {"x", "t", "e"}
        elif letter in RIGHTS:
            out.add(letter)
        else:
            raise bad(f"Unknown right {letter!r}")
    return out


def with_virtual(rights: str) -> str:
    """``rights`` in canonical order plus RFC 4314 §2.1.1's ``c`` and ``d``."""
    out = "".join(letter for letter in RIGHTS if letter in rights)
    if set("kx") & set(out):
        out += "c"
    if set("xte") & set(out):
        out += "d"
    return out


#: RFC 4314 §2: the universal identity.
ANYONE_NAME = "anyone"


async def _principal(session: Session, identifier: str) -> int:
    if identifier.strip().lower() == ANYONE_NAME:
        return ANYONE
    found = await session.store.directory.principal(identifier.strip().lower())
    if found is None:
        raise no(f"No such identifier {identifier}", codes.CANNOT)
    return found.id


async def _administered(session: Session, wire: str) -> MailboxRef:
    _, ref = await resolve(session, wire)
    need_right(ref, "a")
    return ref


async def set_acl(session: Session, cmd: SetAcl) -> Done:
    """RFC 4314 §3.1."""
    ref = await _administered(session, cmd.mailbox)
    assert ref.mailbox is not None
    grantee = await _principal(session, cmd.identifier)
    asked = _expand(cmd.rights)
    current = set((await session.store.mailboxes.acl(ref.owner, ref.mailbox.id)).get(grantee, ""))
    if cmd.mode == "add":
        asked |= current
    elif cmd.mode == "remove":
        asked = current - asked
    try:
        await session.store.mailboxes.set_rights(ref.owner, ref.mailbox.id, grantee, "".join(asked))
    except PreconditionFailed:
        raise no("The owner's rights cannot change", codes.CANNOT) from None
    except StoreError as exc:
        raise store_failure(exc) from exc
    return Done("SETACL completed")


async def delete_acl(session: Session, cmd: DeleteAcl) -> Done:
    """RFC 4314 §3.2."""
    ref = await _administered(session, cmd.mailbox)
    assert ref.mailbox is not None
    grantee = await _principal(session, cmd.identifier)
    try:
        await session.store.mailboxes.set_rights(ref.owner, ref.mailbox.id, grantee, "")
    except PreconditionFailed:
        raise no("The owner's rights cannot change", codes.CANNOT) from None
    except StoreError as exc:
        raise store_failure(exc) from exc
    return Done("DELETEACL completed")


async def get_acl(session: Session, cmd: GetAcl) -> Done:
    """RFC 4314 §3.3: the owner first, then every grant."""
    ref = await _administered(session, cmd.mailbox)
    assert ref.mailbox is not None
    grants = await session.store.mailboxes.acl(ref.owner, ref.mailbox.id)
    names = await storeview.principal_names(session.store, [ref.owner, *grants])
    names[ANYONE] = ANYONE_NAME
    entries = [(names.get(ref.owner, str(ref.owner)), with_virtual(RIGHTS))]
    entries += [(names.get(p, str(p)), with_virtual(rights)) for p, rights in grants.items()]
    await session.send(r.acl(ref.name, entries, utf8=session.utf8))
    return Done("GETACL completed")


async def list_rights(session: Session, cmd: ListRights) -> Done:
    """RFC 4314 §3.4: nothing is always granted; each right may be granted alone."""
    ref = await _administered(session, cmd.mailbox)
    grantee = await _principal(session, cmd.identifier)
    if grantee == ref.owner:
        required, optional = with_virtual(RIGHTS), []
    else:
        required, optional = "", [*RIGHTS, "c", "d"]
    await session.send(
        r.listrights(ref.name, cmd.identifier, required, optional, utf8=session.utf8)
    )
    return Done("LISTRIGHTS completed")


async def my_rights(session: Session, cmd: MyRights) -> Done:
    """RFC 4314 §3.5."""
    _, ref = await resolve(session, cmd.mailbox)
    await session.send(r.myrights(ref.name, with_virtual(ref.rights), utf8=session.utf8))
    return Done("MYRIGHTS completed")
