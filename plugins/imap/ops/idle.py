"""IDLE (RFC 2177; RFC 9051 §6.3.13): updates as they happen until the client's DONE.

Implementation notes:

* After ``+ idling`` two things run at once: reading the client's next line, and,
  with a mailbox selected, waiting for the store's change events; each event refreshes
  the view and sends its updates at once, EXPUNGE/VANISHED included (IDLE is a command
  in progress, RFC 9051 §7.5.1).
* The line must be ``DONE`` (case-insensitive); anything else ends IDLE with BAD
  (RFC 2177 §3). The wait is bounded by ``imap.timeouts.idle`` (RFC 2177 §3: clients
  re-IDLE within 29 minutes), after which the driver says BYE.
* With NOTIFY set, IDLE sends exactly what NOTIFY asked for (RFC 5465 §4): it lets
  the notifier (:mod:`plugins.imap.notifier`) write by releasing ``session.busy``
  while it waits, and does not watch the selected mailbox itself.
* If the selected mailbox is deleted meanwhile, the session ends with BYE like after
  any command (:class:`plugins.imap.context.SelectionLost`).
"""

from __future__ import annotations

import trio

from kernel.net.connection import IdleTimeout
from plugins.imap.context import SelectionLost, Session
from plugins.imap.errors import Done, bad
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Idle

__all__ = ["idle"]

#: What ends an IDLE other than DONE: the mailbox vanished, the client went silent
#: or away, or its compressed stream broke.
_ENDS = (
    SelectionLost,
    IdleTimeout,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    ValueError,
)


async def idle(session: Session, cmd: Idle) -> Done | None:
    """RFC 2177 §3."""
    await session.sync(expunge=True, force=True)
    await session.send(r.continuation("idling"))
    # Both tasks catch their own failures, so nothing leaves the nursery wrapped in
    # an exception group; the first failure is re-raised as it is.
    failures: list[Exception] = []
    lines: list[bytes | None] = []

    async def watch(cancel: trio.CancelScope) -> None:
        try:
            while True:
                await session.wait_change()
                await session.sync(expunge=True)
        except _ENDS as exc:
            failures.append(exc)
            cancel.cancel()

    async def read(cancel: trio.CancelScope) -> None:
        try:
            lines.append(await session.read_line(session.config.idle_timeout))
        except _ENDS as exc:
            failures.append(exc)
        cancel.cancel()

    notifying = session.notifier is not None
    held = session.busy.statistics().owner is trio.lowlevel.current_task()
    if notifying and held:
        session.busy.release()  # RFC 5465 §4: the notifier writes during IDLE
    try:
        async with trio.open_nursery() as nursery:
            if session.selected is not None and not notifying:
                nursery.start_soon(watch, nursery.cancel_scope)
            nursery.start_soon(read, nursery.cancel_scope)
    finally:
        if notifying and held:
            await _reacquire(session)
    if failures:
        raise failures[0]
    line = lines[0] if lines else None
    if line is None:
        return None  # the client went away
    if line.strip().upper() != b"DONE":
        raise bad("Expected DONE")
    return Done("IDLE terminated")


async def _reacquire(session: Session) -> None:
    """Take ``session.busy`` back, even if cancelled meanwhile (the driver releases it)."""
    with trio.CancelScope(shield=True):
        await session.busy.acquire()
