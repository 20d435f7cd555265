"""The connect stage: rate limit, early-talker check, the pipeline's connect hook, the greeting.

Implementation notes:

* The greeting (RFC 5321 §4.2: ``220 <domain> ...``) carries no enhanced status
  code (RFC 2034 §3).
* Refusals follow RFC 5321 §3.1: a ``554`` instead of the greeting, after which
  every command but QUIT gets ``503``; a temporary refusal (rate limit, a
  hook's tempfail) is ``421`` and the connection closes.
* Early talkers (RFC 5321 §4.3.1: the client SHOULD wait for the greeting):
  with ``smtp.greeting_delay`` set, bytes that arrive before the greeting get
  the ``554`` refusal; they are kept and answered ``503`` in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from kernel import IdleTimeout, StashKey
from kernel.pipeline import VerdictAction, run_stage
from plugins.smtp.proto import codes
from plugins.smtp.proto.responses import Reply
from plugins.smtp.ratelimit import RateLimiter

if TYPE_CHECKING:
    from plugins.smtp.session import Session

__all__ = ["LIMITER", "greet", "limiter"]

#: The kernel-wide rate limiter of the smtp plugin.
LIMITER: StashKey[RateLimiter] = StashKey()


def limiter(session: Session) -> RateLimiter:
    """The kernel's rate limiter (created on first use)."""
    return session.kernel.stash.setdefault(LIMITER, RateLimiter())


async def greet(session: Session) -> Reply:
    """The first reply of the session."""
    settings, conn, ip = session.settings, session.conn, session.conn.remote[0]
    window = settings.rate_window
    if not limiter(session).allow(
        f"conn:{ip}", settings.connections_per_ip, window, trio.current_time()
    ):
        session.log.warning("smtp-rate-limited", limit="connections")
        return Reply.of(
            codes.C421_SERVICE_UNAVAILABLE,
            codes.ES_4_7_0_SECURITY,
            "too many connections from your address; try again later",
        )
    if settings.greeting_delay > 0:
        try:
            early = await conn.receive_some(timeout=settings.greeting_delay)
        except IdleTimeout:
            early = None
        if early is not None:
            session.engine.receive_data(early)
        if early:
            session.log.warning("smtp-early-talker", bytes=len(early))
            session.refused = True
            return Reply.of(
                codes.C554_TRANSACTION_FAILED,
                codes.ES_5_5_1_INVALID_COMMAND,
                f"{settings.hostname} no service: you spoke before the greeting",
            )
    verdict = await run_stage(
        session.kernel.pm.hook.stalwart_inbound_connect, kernel=session.kernel, session=session.info
    )
    if verdict.action is VerdictAction.TEMPFAIL:
        return Reply.of(codes.C421_SERVICE_UNAVAILABLE, verdict.status, verdict.text)
    if verdict.action is VerdictAction.REJECT:
        session.refused = True
        status = (
            verdict.status if verdict.status.startswith("5.") else codes.ES_5_7_1_NOT_AUTHORIZED
        )
        return Reply.of(codes.C554_TRANSACTION_FAILED, status, verdict.text)
    session.verdict = verdict
    return Reply.of(codes.C220_READY, None, f"{settings.hostname} ESMTP ready")
