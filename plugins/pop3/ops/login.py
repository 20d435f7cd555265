"""What PASS and AUTH share: failure handling, LOGIN-DELAY, and opening the maildrop.

Implementation notes:

* RFC 1939 §4: after authenticating, the server takes an exclusive lock on
  the maildrop; if it cannot, it answers ``-ERR`` (RFC 2449 §8.1.2:
  ``[IN-USE]``) and the session stays in AUTHORIZATION. A lock taken before a
  later failure is released before the ``-ERR``.
* A failed login is answered after ``auth_failure_delay`` with ``[AUTH]``, or
  ``[SYS/TEMP]`` if the directory could not be asked; the connection is closed
  after ``max_auth_failures`` failures. Counting failures across connections
  (and refusing throttled logins) is the directory's job.
* LOGIN-DELAY (RFC 2449 §6.5, §8.1.1) is enforced per server process: the
  time of each account's last successful login is kept on the kernel's stash.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import trio

from kernel.errors import NoSuchItem
from kernel.login import LoginResult
from kernel.stash import StashKey
from plugins.pop3.proto import responses
from plugins.pop3.proto.responses import Reply

if TYPE_CHECKING:
    from plugins.pop3.session import Pop3Session

__all__ = ["LAST_LOGINS", "finish_login", "login_failed"]

#: Monotonic time of each account's last successful POP3 login, for LOGIN-DELAY.
LAST_LOGINS: StashKey[dict[int, float]] = StashKey()


async def login_failed(session: Pop3Session, reply: Reply) -> None:
    """Answer a failed login (after the configured delay); close after too many."""
    session.auth_failures += 1
    if session.settings.auth_failure_delay > 0:
        await trio.sleep(session.settings.auth_failure_delay)
    if session.auth_failures >= session.settings.max_auth_failures:
        session.reply(responses.TOO_MANY_FAILURES)
        session.done = True
        return
    session.reply(reply)


async def finish_login(session: Pop3Session, result: LoginResult) -> None:
    """Answer a login attempt: open the maildrop on success, count a failure otherwise."""
    if not result.ok or result.account_id is None:
        reply = responses.AUTH_TEMPORARY if result.temporary else responses.INVALID_CREDENTIALS
        await login_failed(session, reply)
        return
    session.reply(await _open_maildrop(session, result.account_id))


async def _open_maildrop(session: Pop3Session, account: int) -> Reply:
    conn = session.conn
    delay = session.settings.login_delay
    last_logins = conn.kernel.stash.setdefault(LAST_LOGINS, {})
    last = last_logins.get(account)
    if delay > 0 and last is not None and time.monotonic() - last < delay:
        return responses.login_delayed(int(delay))
    try:
        if not await session.hold_lease(account):
            conn.log.info("pop3-maildrop-in-use", account=account)
            return responses.IN_USE
        listing = await conn.kernel.store.maildrop.listing(account)
    except NoSuchItem:
        await session.lease.release()
        return responses.NO_MAILDROP
    except Exception as exc:  # the store's own errors vary by backend: translate them all
        conn.log.error("pop3-maildrop-unavailable", error=f"{type(exc).__name__}: {exc}")
        await session.lease.release()
        return responses.MAILDROP_UNAVAILABLE
    session.opened(account, listing)
    last_logins[account] = time.monotonic()
    return responses.maildrop_opened(*session.view.stat())
