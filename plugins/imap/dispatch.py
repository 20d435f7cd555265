"""From a parsed command to its tagged reply: state check, op, updates, errors.

Implementation notes:

* RFC 9051 §3: a command not valid in the current state is BAD (the table is
  :mod:`plugins.imap.proto.state`); commands of extensions not implemented are BAD
  too, since they are not advertised.
* With a mailbox selected, the view is refreshed before the op (new messages become
  visible; no EXPUNGE yet, since the client's sequence numbers in this command refer
  to the state before it) and the updates are sent after it, before the tagged
  response (RFC 9051 §5.2, §7).
* RFC 9051 §7.5.1, RFC 7162 §3.2.10.2: no EXPUNGE/VANISHED after FETCH, STORE or
  SEARCH by sequence number (nor SORT/THREAD), nor after a UID SEARCH that names
  sequence numbers; NOOP and CHECK re-read the store even without a change event.
* Errors: :class:`plugins.imap.errors.CommandFailed` becomes ``NO``/``BAD``; any other
  exception is logged and answered ``NO [SERVERBUG]`` so a bug never drops the
  connection (issue 5: "never a dropped connection or traceback").
  :class:`plugins.imap.context.SelectionLost` and transport errors propagate to the
  driver.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import trio

from kernel.errors import StoreError
from plugins.imap.context import SelectionLost, Session
from plugins.imap.errors import CommandFailed, Done, store_failure
from plugins.imap.ops import (
    acl,
    append,
    auth,
    copy,
    expunge,
    fetch,
    idle,
    list,
    mailbox,
    metadata,
    notify,
    quota,
    search,
    select,
    simple,
    sort,
    status,
    store,
)
from plugins.imap.proto import codes
from plugins.imap.proto import commands as c
from plugins.imap.proto import responses as r
from plugins.imap.proto.state import State, allowed
from plugins.imap.search import uses_sequence_numbers

__all__ = ["OPS", "dispatch", "expunge_allowed"]

Op = Callable[[Session, Any], Awaitable[Done | None]]

#: Command class to op.
OPS: Final[dict[type, Op]] = {
    c.Capability: simple.capability,
    c.Noop: simple.noop,
    c.Check: simple.check,
    c.Logout: simple.logout,
    c.Id: simple.id_,
    c.Namespace: simple.namespace,
    c.Enable: simple.enable,
    c.Compress: simple.compress,
    c.StartTls: auth.starttls,
    c.Login: auth.login,
    c.Authenticate: auth.authenticate,
    c.Select: select.select,
    c.Examine: select.examine,
    c.Close: select.close,
    c.Unselect: select.unselect,
    c.Create: mailbox.create,
    c.Delete: mailbox.delete,
    c.Rename: mailbox.rename,
    c.Subscribe: mailbox.subscribe,
    c.Unsubscribe: mailbox.unsubscribe,
    c.List: list.list_,
    c.Lsub: list.lsub,
    c.Status: status.status,
    c.Append: append.append,
    c.Idle: idle.idle,
    c.Expunge: expunge.expunge,
    c.UidExpunge: expunge.uid_expunge,
    c.Fetch: fetch.fetch,
    c.Store: store.store,
    c.Search: search.search,
    c.Copy: copy.copy,
    c.Move: copy.move,
    c.Sort: sort.sort,
    c.CancelUpdate: search.cancel_update,  # RFC 5267 §4.3.5
    c.Thread: sort.thread,
    c.GetQuota: quota.get_quota,
    c.GetQuotaRoot: quota.get_quota_root,
    c.SetQuota: quota.set_quota,
    c.SetAcl: acl.set_acl,
    c.DeleteAcl: acl.delete_acl,
    c.GetAcl: acl.get_acl,
    c.ListRights: acl.list_rights,
    c.MyRights: acl.my_rights,
    c.GetMetadata: metadata.get_metadata,
    c.SetMetadata: metadata.set_metadata,
    c.Notify: notify.notify,  # RFC 5465
}
_FORCED: Final = (c.Noop, c.Check)


def expunge_allowed(cmd: c.Command) -> bool:
    """Whether EXPUNGE/VANISHED may follow ``cmd`` (RFC 9051 §7.5.1, §5.5)."""
    if isinstance(cmd, c.Fetch | c.Store):
        return cmd.uid
    if isinstance(cmd, c.Search):
        return cmd.uid and not uses_sequence_numbers(cmd.criteria)
    if isinstance(cmd, c.Sort | c.Thread):
        return cmd.uid and not uses_sequence_numbers(cmd.search)
    return True


async def _run(session: Session, cmd: c.Command, op: Op) -> Done | None:
    selected = session.selected is not None
    if selected:
        await session.sync(expunge=False, force=isinstance(cmd, _FORCED))
    result = await op(session, cmd)
    if session.selected is not None and session.state is not State.LOGOUT:
        await session.sync(expunge=expunge_allowed(cmd))
    return result


async def dispatch(session: Session, cmd: c.Command) -> None:
    """Run one command and send everything it answers, its tagged line last."""
    tag = cmd.tag
    op = OPS.get(type(cmd))
    if op is None:
        await session.send(r.tagged(tag, "BAD", "Command not supported"))
        return
    if not allowed(cmd, session.state):
        await session.send(r.tagged(tag, "BAD", f"Not allowed in the {session.state.value} state"))
        return
    try:
        done = await _run(session, cmd, op)
    except CommandFailed as failure:
        await session.send(r.tagged(tag, failure.status, failure.text, code=failure.code))
        return
    except StoreError as exc:
        failure = store_failure(exc)
        await session.send(r.tagged(tag, failure.status, failure.text, code=failure.code))
        return
    except (SelectionLost, trio.Cancelled, trio.BrokenResourceError, trio.ClosedResourceError):
        raise
    except trio.TooSlowError:
        raise
    except Exception as exc:  # a bug: answer, log, keep the connection
        session.conn.log.exception(
            "imap-command-failed", command=type(cmd).__name__, error=type(exc).__name__
        )
        await session.send(r.tagged(tag, "NO", "Internal error", code=codes.SERVERBUG.encode()))
        return
    if done is not None:
        await session.send(r.tagged(tag, "OK", done.text, code=done.code, utf8=False))
