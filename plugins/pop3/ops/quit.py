"""QUIT (RFC 1939 §4, §6): leave, removing the marked messages if in TRANSACTION.

Implementation notes:

* RFC 1939 §6: only QUIT in TRANSACTION enters UPDATE; the marked messages
  are removed from the INBOX in one store transaction (so IMAP and JMAP see
  them go in one change-log entry), or moved to Trash with
  ``deleted_to_trash``. With ``EXPIRE 0`` (RFC 2449 §6.7) every message sent
  whole by RETR goes too.
* The lease is renewed first: if it was lost (another session may own the
  maildrop now) nothing is removed and the reply says so.
* "In no case may the server remove any messages not marked as deleted": the
  store removes a message only while it still has the UID the session listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.pop3.proto import responses
from plugins.pop3.proto.commands import Quit
from plugins.pop3.proto.state import State

if TYPE_CHECKING:
    from plugins.pop3.session import Pop3Session

__all__ = ["quit_"]


async def quit_(session: Pop3Session, cmd: Quit) -> None:
    """Say goodbye; from TRANSACTION, run the UPDATE state first."""
    session.done = True
    if session.engine.state is not State.TRANSACTION:
        session.reply(responses.BYE)
        return
    session.engine.enter_update()
    retrieved_too = session.settings.expire == "0"
    remove = session.view.to_remove(retrieved_too=retrieved_too)
    if remove:
        conn = session.conn
        assert session.account is not None and session.listing is not None
        try:
            if not await session.lease.confirm():
                session.reply(responses.LEASE_LOST)
                return
            await conn.kernel.store.maildrop.expunge(
                session.account,
                session.listing,
                remove,
                trash=session.settings.deleted_to_trash,
            )
        except Exception as exc:  # the store's own errors vary by backend: translate them all
            conn.log.error("pop3-expunge-failed", error=f"{type(exc).__name__}: {exc}")
            session.reply(responses.EXPUNGE_FAILED)
            return
        conn.log.info("pop3-expunged", account=session.account, messages=len(remove))
    session.reply(responses.signing_off(session.view.remaining(retrieved_too=retrieved_too)))
