"""The queue manager: a service task that delivers the outbound queue.

Theory of operation: the loop claims due recipients from the store
(``kernel.store.queue.claim``, leased to this node for ``queue.lease``), groups
them into jobs of one message and one destination domain, and starts each job
in its own task, at most ``queue.concurrency`` at once and
``queue.domain_concurrency`` per domain. When nothing is due it sleeps until
the next due time (``queue.next_due``), a ``queue`` change event (an enqueue or
a retry on this node), a job's end, or ``queue.poll_interval``, whichever
comes first.

A job: recipients in a local domain are delivered through local delivery
(:func:`plugins.smtp.delivery.deliver_queued`); the others go to the
domain's hosts (:mod:`~plugins.smtp.outbound.resolve`), tried in order over each
of their addresses until one takes the transaction
(:mod:`~plugins.smtp.outbound.client`). Each recipient's outcome becomes a
:class:`~kernel.store.queue.Result`: 2xx delivered, 5xx failed, anything else
deferred with exponential backoff until the message's lifetime ends, then
failed. Notifications (failure, one delay warning after ``queue.warn_after``,
success when asked and the remote does not take over DSNs) are enqueued
*before* the results are recorded, so a crash in between sends a notification
twice rather than never.

Error handling: an unexpected exception in a job defers its recipients (logged
with the traceback); it never stops the manager. At shutdown the running jobs
are cancelled and their leases released, so a restart retries them at once; a
node that dies without releasing (SIGKILL) leaves leases that expire after
``queue.lease``.

Implementation notes:

* The only window for duplicates is between a remote host's 250 and the
  commit of the result (a crash there, or a lost connection after the final
  "."); the message is then sent again (RFC 5321 §6.1 prefers a duplicate to a
  loss).
* One ``queue-attempt`` log line per recipient per attempt.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, final

import trio

from kernel import KernelError
from kernel.stash import StashKey
from kernel.store.queue import QueuedMessage, QueuedRecipient, Result
from plugins.smtp.delivery import deliver_queued
from plugins.smtp.outbound.client import Envelope, HostFailed, Timeouts, deliver_to_host
from plugins.smtp.outbound.clientproto import ClientReply, needs_8bit
from plugins.smtp.outbound.dsn import Notice, build_dsn, wants
from plugins.smtp.outbound.resolve import RouteError, destinations, make_resolver
from plugins.smtp.outbound.settings import QueueSettings

if TYPE_CHECKING:
    from kernel import Kernel, StructuredLogger
    from kernel.events import Subscription

__all__ = ["QUEUE_MANAGER", "QueueManager", "Statistics"]

#: The running manager, for tests and the shutdown hook.
QUEUE_MANAGER: StashKey[QueueManager] = StashKey()


@final
@dataclass(slots=True)
class Statistics:
    """Counters since start."""

    attempts: int = 0
    delivered: int = 0
    deferred: int = 0
    failed: int = 0
    notifications: int = 0
    in_flight: int = 0


@final
@dataclass(slots=True)
class _Job:
    message: QueuedMessage
    domain: str
    recipients: list[QueuedRecipient] = field(default_factory=list)


@dataclass(slots=True)
class _Outcome:
    reply: ClientReply
    remote: str | None = None
    dsn_by_remote: bool = False


def _reply(code: int, status: str, text: str) -> ClientReply:
    return ClientReply(code, (f"{status} {text}",))


@final
class QueueManager:
    """Delivers the outbound queue (see the module docstring)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.owner = f"{kernel.hostname}/{os.getpid()}/{secrets.token_hex(4)}"
        self.log: StructuredLogger = kernel.logger("smtp.queue")
        self.statistics = Statistics()
        self._wake = trio.Event()
        self._domains: dict[str, trio.CapacityLimiter] = {}

    def wake(self) -> None:
        """Look at the queue again now."""
        self._wake.set()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; ``started`` once subscribed to queue events."""
        with self.kernel.events.subscribe(kinds=["queue"]) as events:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._listen, events)
                task_status.started()
                await self._loop(nursery)

    async def _listen(self, events: Subscription) -> None:
        async for _ in events:
            self._wake.set()

    async def _loop(self, nursery: trio.Nursery) -> None:
        while True:
            settings = QueueSettings.from_kernel(self.kernel)
            self._wake = trio.Event()  # reset before claiming: later events still wake
            free = settings.concurrency - self.statistics.in_flight
            claimed: list[QueuedMessage] = []
            if settings.enabled and free > 0:
                try:
                    claimed = await self.kernel.store.queue.claim(
                        self.owner, lease=settings.lease, limit=free
                    )
                except Exception:  # a store outage must not stop the server: retry later
                    self.log.exception("queue-claim-failed")
                    free = 0
            for job in _jobs(claimed):
                self.statistics.in_flight += 1
                nursery.start_soon(self._attempt, job, settings)
            count = sum(len(m.recipients) for m in claimed)
            if free > 0 and count >= free:
                continue  # maybe more is due
            timeout = settings.poll_interval
            if free > 0 and settings.enabled:
                due = await self.kernel.store.queue.next_due()
                if due is not None:
                    # 50 ms at least: due but not claimable (another node's open claim).
                    timeout = min(timeout, max(due - time.time(), 0.05))
            with trio.move_on_after(timeout):
                await self._wake.wait()

    # ---- one job ---------------------------------------------------------------

    async def _attempt(self, job: _Job, settings: QueueSettings) -> None:
        limiter = self._domains.get(job.domain)
        if limiter is None:
            limiter = self._domains[job.domain] = trio.CapacityLimiter(settings.domain_concurrency)
        limiter.total_tokens = settings.domain_concurrency
        message = job.message
        try:
            async with limiter:
                try:
                    outcomes = await self._deliver(job, settings)
                except Exception as exc:
                    self.log.exception("queue-attempt-failed", queue=message.id, domain=job.domain)
                    local = _reply(451, "4.3.0", f"local error: {type(exc).__name__}")
                    outcomes = {r.recipient: _Outcome(local) for r in job.recipients}
                await self._finish(job, outcomes, settings)
        except Exception:
            # Recording failed (store outage): the lease runs out and the entry is retried.
            self.log.exception("queue-record-failed", queue=message.id, domain=job.domain)
        except trio.Cancelled:
            with trio.move_on_after(2, shield=True):
                await self.kernel.store.queue.release(
                    message.id, self.owner, [r.recipient for r in job.recipients]
                )
            raise
        finally:
            self.statistics.in_flight -= 1
            self._wake.set()

    async def _deliver(self, job: _Job, settings: QueueSettings) -> dict[str, _Outcome]:
        message = job.message
        raw = await self.kernel.store.queue.raw(message.id)
        if await self.kernel.store.directory.is_local_domain(job.domain):
            return await self._deliver_local(job, raw)
        out: dict[str, _Outcome] = {}
        try:
            hosts = await destinations(job.domain, settings, make_resolver(settings))
        except RouteError as exc:
            code = 550 if exc.permanent else 451
            reply = _reply(code, exc.status, exc.text)
            return {r.recipient: _Outcome(reply) for r in job.recipients}
        envelope = Envelope(
            return_path=message.return_path,
            recipients=[(r.recipient, r.notify, r.orcpt) for r in job.recipients],
            raw=raw,
            body=message.body_type or ("8BITMIME" if needs_8bit(raw) else None),
            smtputf8=message.smtputf8,
            ret=message.dsn_ret,
            envid=message.env_id,
        )
        timeouts = Timeouts(
            settings.connect_timeout, settings.command_timeout, settings.data_timeout
        )
        last = _Outcome(_reply(451, "4.4.1", f"no host of {job.domain} could be reached"))
        for host in hosts:
            for address in host.addresses:
                try:
                    result = await deliver_to_host(
                        address,
                        host.port,
                        envelope,
                        host=host.host,
                        helo=settings.hostname,
                        tls=host.tls or settings.tls,
                        auth=host.auth,
                        timeouts=timeouts,
                    )
                except HostFailed as exc:
                    reply = exc.reply or _reply(451, "4.4.1", exc.text)
                    last = _Outcome(reply, host.host)
                    self.log.info(
                        "queue-host-failed",
                        queue=message.id,
                        host=host.host,
                        address=address,
                        reason=exc.text,
                    )
                    continue
                for rcpt, reply in result.replies.items():
                    out[rcpt] = _Outcome(reply, host.host, result.dsn)
                return {r.recipient: out.get(r.recipient, last) for r in job.recipients}
        return {r.recipient: last for r in job.recipients}

    async def _deliver_local(self, job: _Job, raw: bytes) -> dict[str, _Outcome]:
        out = {}
        for r in job.recipients:
            try:
                outcome = await deliver_queued(
                    self.kernel,
                    r.recipient,
                    raw,
                    sender=job.message.return_path,
                    queue_id=str(job.message.id),
                )
            except KernelError as exc:
                out[r.recipient] = _Outcome(_reply(550, "5.1.1", str(exc)))
                continue
            if outcome.reply is None:
                out[r.recipient] = _Outcome(_reply(250, "2.0.0", f"delivered to {outcome.mailbox}"))
            else:
                refused = outcome.reply
                status = refused.status or f"{str(refused.code)[0]}.0.0"
                out[r.recipient] = _Outcome(_reply(refused.code, status, " ".join(refused.lines)))
        return out

    async def _finish(
        self, job: _Job, outcomes: dict[str, _Outcome], settings: QueueSettings
    ) -> None:
        message = job.message
        now = time.time()
        expires = min(message.expires, message.created + settings.lifetime)
        results: list[Result] = []
        notices: list[Notice] = []
        for r in job.recipients:
            outcome = outcomes[r.recipient]
            reply, status = outcome.reply, outcome.reply.status()
            text = outcome.reply.text
            base = dict(
                code=reply.code, enhanced=status, text=text[:1000], remote_mta=outcome.remote
            )
            notice = dict(
                recipient=r.recipient,
                status=status,
                orcpt=r.orcpt,
                remote_mta=outcome.remote,
                diagnostic=str(reply),
                last_attempt=now,
            )
            if reply.positive:
                results.append(Result(r.recipient, "delivered", **base))
                if not outcome.dsn_by_remote and wants(r.notify, message.return_path, "relayed"):
                    action = "delivered" if outcome.remote is None else "relayed"
                    notices.append(Notice(action=action, **notice))
            elif reply.permanent or now >= expires:
                if not reply.permanent:
                    # RFC 3463 §3.5: 4.4.7, the message's lifetime expired.
                    notice["status"] = "4.4.7"
                results.append(Result(r.recipient, "failed", **base))
                if wants(r.notify, message.return_path, "failed"):
                    notices.append(Notice(action="failed", **notice))
            else:
                delay = settings.backoff(r.attempts + 1)
                results.append(
                    Result(r.recipient, "deferred", **base, next_attempt=min(now + delay, expires))
                )
                threshold = message.created + settings.warn_after
                previous = r.last_attempt or message.created
                if (
                    settings.warn_after > 0
                    and previous < threshold <= now
                    and wants(r.notify, message.return_path, "delayed")
                ):
                    notices.append(Notice(action="delayed", retry_until=expires, **notice))
            self.log.info(
                "queue-attempt",
                queue=message.id,
                sender=message.return_path or "<>",
                recipient=r.recipient,
                attempt=r.attempts + 1,
                result=results[-1].status,
                host=outcome.remote or "-",
                reply=str(reply)[:300],
            )
        await self._notify(message, notices)
        self.statistics.attempts += 1
        for result in results:
            counted = getattr(self.statistics, result.status)
            setattr(self.statistics, result.status, counted + 1)
        await self.kernel.store.queue.record(message.id, self.owner, results, now=now)

    async def _notify(self, message: QueuedMessage, notices: Sequence[Notice]) -> None:
        """Send the notifications, one DSN per action, to the envelope sender."""
        if not notices or not message.return_path:
            return
        raw: bytes | None = None
        by_action: dict[str, list[Notice]] = {}
        for notice in notices:
            by_action.setdefault(notice.action, []).append(notice)
        hostname = QueueSettings.from_kernel(self.kernel).hostname
        for group in by_action.values():
            if raw is None:
                raw = await self.kernel.store.queue.raw(message.id)
            report = build_dsn(
                reporting_mta=hostname,
                return_path=message.return_path,
                notices=group,
                original=raw,
                arrival=message.created,
                env_id=message.env_id,
                ret=message.dsn_ret,
            )
            dsn_id = await self.kernel.store.queue.enqueue(
                report,
                "",  # RFC 3461 §6.2: a DSN has the null reverse-path: never bounced
                [message.return_path],
                body_type="8BITMIME" if needs_8bit(report) else None,
                smtputf8=not message.return_path.isascii(),
            )
            self.statistics.notifications += 1
            self.log.info(
                "queue-dsn",
                queue=message.id,
                dsn=dsn_id,
                action=group[0].action,
                to=message.return_path,
                recipients=",".join(n.recipient for n in group),
            )


def _jobs(claimed: Sequence[QueuedMessage]) -> list[_Job]:
    jobs: dict[tuple[int, str], _Job] = {}
    for message in claimed:
        for r in message.recipients:
            job = jobs.setdefault((message.id, r.domain), _Job(message, r.domain))
            job.recipients.append(r)
    return list(jobs.values())
