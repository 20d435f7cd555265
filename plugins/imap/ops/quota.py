"""GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208 §4.2-§4.4).

Implementation notes:

* Each account has one quota root, ``""`` for the user's own mailboxes, holding the
  STORAGE resource in units of 1024 octets (RFC 9208 §5.1) and the MESSAGE resource
  (RFC 9208 §5.2), each listed when the account has that limit: the account's
  quotas and what its emails use. An email counts once however many mailboxes hold
  it, for both resources (the store keeps one message, memberships are labels). An
  account without a limit has no quota root (RFC 9208 §4.3: QUOTAROOT lists none).
* Mailboxes shared by another account have no quota root visible to this user.
* Limits are set by the administrator (``stalwart-kernel account``), so SETQUOTA is
  refused with ``NO [NOPERM]`` and QUOTASET is not advertised (RFC 9208 §4.4).
"""

from __future__ import annotations

from plugins.imap.context import Session
from plugins.imap.errors import Done, no
from plugins.imap.ops._common import resolve
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import GetQuota, GetQuotaRoot, SetQuota

__all__ = ["get_quota", "get_quota_root", "set_quota"]

_ROOT = ""


async def _usage(session: Session) -> list[tuple[str, int, int]] | None:
    """The root's resources as (name, usage, limit), or None without a limit."""
    assert session.account is not None
    principal = await session.store.directory.principal(session.account)
    if principal is None:
        return None
    out = []
    if principal.quota:
        out.append(("STORAGE", (principal.used + 1023) // 1024, principal.quota // 1024))
    if principal.quota_messages:
        # RFC 9208 §5.2: an exact number.
        out.append(("MESSAGE", principal.used_messages, principal.quota_messages))
    return out or None


async def get_quota_root(session: Session, cmd: GetQuotaRoot) -> Done:
    """RFC 9208 §4.3: the roots of a mailbox, and each root's QUOTA."""
    _, ref = await resolve(session, cmd.mailbox)
    usage = await _usage(session) if ref.owner == session.account_id else None
    roots = [_ROOT] if usage is not None else []
    out = [r.quotaroot(ref.name, roots, utf8=session.utf8)]
    if usage is not None:
        out.append(r.quota(_ROOT, usage))
    await session.send(*out)
    return Done("GETQUOTAROOT completed")


async def get_quota(session: Session, cmd: GetQuota) -> Done:
    """RFC 9208 §4.2."""
    usage = await _usage(session) if cmd.root == _ROOT else None
    if usage is None:
        raise no("No such quota root", codes.NONEXISTENT)
    await session.send(r.quota(_ROOT, usage))
    return Done("GETQUOTA completed")


async def set_quota(session: Session, cmd: SetQuota) -> Done:
    """RFC 9208 §4.4: not for users."""
    raise no("Quotas are set by the administrator", codes.NOPERM)
