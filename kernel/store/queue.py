"""The outbound queue: messages waiting for remote delivery, one state per recipient.

Producers (SMTP submission relaying, Sieve redirect and vacation, delivery
status notifications, later JMAP EmailSubmission) call :meth:`Queue.enqueue`;
the SMTP plugin's queue manager claims due recipients, delivers them and
records each attempt's result.

Implementation notes:

* Bytes: a queued message references one row of ``blobs`` (content
  addressed, reference counted, as emails do). Up to the store's inline limit
  the bytes live in that row; larger ones go to the blob store first, which is
  durable before :meth:`enqueue`'s transaction commits. A message leaves the
  queue with :func:`_drop`, which releases its blob reference.
* State per recipient (``queue_recipients``): ``pending`` (never tried),
  ``deferred`` (a temporary failure; ``next_attempt`` says when again),
  ``delivered`` or ``failed`` (final; ``next_attempt`` NULL). The last reply
  (code, enhanced status, text, remote MTA) is kept for DSNs and the CLI.
* Leases: :meth:`claim` hands due recipients to one ``owner`` until
  ``lease_until``; another node (or this one after a restart) may claim them
  again only once the lease has passed. PostgreSQL claims with ``FOR UPDATE
  SKIP LOCKED`` so concurrent claimers skip each other's rows instead of
  waiting; SQLite has one writer, so its select-then-update is atomic.
  :meth:`record` only applies while the caller still holds the lease.
* A message whose recipients are all final leaves the queue in the same
  transaction as the last result, unless it belongs to an account (a JMAP
  EmailSubmission, which JMAP destroys itself).
* Wake-up: every enqueue, retry and cancel publishes a :class:`ChangeEvent` of
  kind ``queue`` (account ``""`` unless the message has one), which the queue
  manager subscribes to through the kernel's event bus.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, final

from kernel.errors import NoSuchItem, StoreError
from kernel.events import ChangeEvent
from kernel.store.interfaces import Backend, BlobStore, ReadOps, WriteOps

__all__ = [
    "DEFAULT_LIFETIME",
    "KIND",
    "Queue",
    "QueuedMessage",
    "QueuedRecipient",
    "Result",
]

#: The change-event kind the queue publishes (and the change-log kind of submissions).
KIND = "queue"

#: How long a message may stay queued when the enqueuer does not say (RFC 5321
#: §4.5.4.1: "the give-up time generally needs to be at least 4-5 days").
DEFAULT_LIFETIME = 5 * 86400.0

_MESSAGE_COLUMNS = (
    "id, account, identity, email, thread, blob, size, return_path, env_id, dsn_ret, "
    "body_type, smtputf8, priority, created, send_at, expires, undo_status, modseq"
)
_RECIPIENT_COLUMNS = (
    "message, recipient, status, attempts, next_attempt, last_attempt, last_code, "
    "last_status, last_error, remote_mta, notify, orcpt, lease_owner, lease_until"
)
_FINAL = ("delivered", "failed")


@final
@dataclass(frozen=True, slots=True)
class QueuedRecipient:
    """One recipient of a queued message and its delivery state."""

    message: int
    recipient: str
    status: str  # pending, deferred, delivered, failed
    attempts: int
    next_attempt: float | None
    last_attempt: float | None
    last_code: int | None
    last_status: str | None  # enhanced status code (RFC 3463), e.g. "4.4.1"
    last_error: str | None  # the reply text or a local diagnosis
    remote_mta: str | None
    notify: str | None  # RFC 3461 §4.1 NOTIFY value, e.g. "FAILURE,DELAY" or "NEVER"
    orcpt: str | None  # RFC 3461 §4.2 ORCPT, "type;address" (decoded)
    lease_owner: str | None
    lease_until: float | None

    @property
    def final(self) -> bool:
        return self.status in _FINAL

    @property
    def domain(self) -> str:
        return self.recipient.rpartition("@")[2].lower()

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> QueuedRecipient:
        (message, rcpt, status, attempts, nxt, last, code, st, err, mta, notify, orcpt, o, u) = row
        return cls(
            int(message), rcpt, status, int(attempts), nxt, last, code, st, err, mta, notify,
            orcpt, o, u,
        )  # fmt: skip


@final
@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """A queued message's envelope and (some of) its recipients."""

    id: int
    account: int | None
    identity: int | None
    email: int | None
    thread: int | None
    blob: str
    size: int
    return_path: str  # "" is the null reverse-path (RFC 5321 §4.5.5)
    env_id: str | None
    dsn_ret: str | None  # FULL or HDRS (RFC 3461 §4.3)
    body_type: str | None  # 7BIT, 8BITMIME, BINARYMIME
    smtputf8: bool
    priority: int
    created: float
    send_at: float
    expires: float
    undo_status: str
    modseq: int
    recipients: tuple[QueuedRecipient, ...] = ()

    @classmethod
    def from_row(
        cls, row: Sequence[Any], recipients: Sequence[QueuedRecipient] = ()
    ) -> QueuedMessage:
        (i, account, identity, email, thread, blob, size, rp, env, ret, body, utf8, prio,
         created, send_at, expires, undo, modseq) = row  # fmt: skip
        return cls(
            int(i), account, identity, email, thread, blob, int(size), rp, env, ret, body,
            bool(utf8), int(prio), created, send_at, expires, undo, int(modseq),
            tuple(recipients),
        )  # fmt: skip


@final
@dataclass(frozen=True, slots=True)
class Result:
    """One recipient's outcome of a delivery attempt, for :meth:`Queue.record`.

    ``status`` is ``delivered``, ``deferred`` (then ``next_attempt`` is required)
    or ``failed``.
    """

    recipient: str
    status: str
    code: int | None = None
    enhanced: str | None = None
    text: str | None = None
    remote_mta: str | None = None
    next_attempt: float | None = None

    def __post_init__(self) -> None:
        if self.status not in ("delivered", "deferred", "failed"):
            raise ValueError(f"bad result status {self.status!r}")
        if (self.status == "deferred") != (self.next_attempt is not None):
            raise ValueError("a deferred result needs next_attempt, and only it")


def _recipients(ops: ReadOps, message: int) -> list[QueuedRecipient]:
    rows = ops.select(
        f"SELECT {_RECIPIENT_COLUMNS} FROM queue_recipients WHERE message = ? ORDER BY recipient",
        (message,),
    )
    return [QueuedRecipient.from_row(r) for r in rows]


def _message(ops: ReadOps, message: int) -> QueuedMessage | None:
    rows = ops.select(f"SELECT {_MESSAGE_COLUMNS} FROM queue_messages WHERE id = ?", (message,))
    if not rows:
        return None
    return QueuedMessage.from_row(rows[0], _recipients(ops, message))


def _drop(ops: WriteOps, message: int) -> bool:
    """Delete a message (its recipients cascade) and release its blob."""
    rows = ops.select("SELECT blob FROM queue_messages WHERE id = ?", (message,))
    if not rows:
        return False
    ops.execute("DELETE FROM queue_recipients WHERE message = ?", (message,))
    ops.execute("DELETE FROM queue_messages WHERE id = ?", (message,))
    ops.release_blob(rows[0][0])
    return True


def _drop_if_finished(ops: WriteOps, message: int) -> bool:
    rows = ops.select(
        "SELECT account, (SELECT count(*) FROM queue_recipients "
        "WHERE message = ? AND next_attempt IS NOT NULL) FROM queue_messages WHERE id = ?",
        (message, message),
    )
    if not rows or rows[0][1] or rows[0][0] is not None:
        return False
    return _drop(ops, message)


def _touch(ops: WriteOps, message: int) -> int | None:
    """Log a change to an account's submission; returns the account, if any."""
    rows = ops.select("SELECT account FROM queue_messages WHERE id = ?", (message,))
    if not rows or rows[0][0] is None:
        return None
    account = int(rows[0][0])
    modseq = ops.bump_modseq(account)
    ops.execute("UPDATE queue_messages SET modseq = ? WHERE id = ?", (modseq, message))
    ops.record_change(account, modseq, "submission", message)
    return account


@final
class Queue:
    """The outbound queue part of the domain API.

    Args:
        backend: the store backend.
        publish: called with a ``queue`` change event after each change that
            may make work due (enqueue, retry).
        blobs: the blob store for messages over ``inline_limit`` octets.
        inline_limit: the largest message kept inside the database when there
            is a blob store.
    """

    def __init__(
        self,
        backend: Backend,
        publish: Callable[[ChangeEvent], None] | None = None,
        *,
        blobs: BlobStore | None = None,
        inline_limit: int = 0,
    ) -> None:
        self._backend = backend
        self._publish = publish
        self._blobs = blobs
        self._inline_limit = inline_limit

    def _wake(self, account: int | None = None, modseq: int = 0) -> None:
        if self._publish is not None:
            self._publish(ChangeEvent(account=str(account or ""), kind=KIND, modseq=modseq))

    # ---- producers -------------------------------------------------------------

    async def enqueue(
        self,
        raw: bytes,
        return_path: str,
        recipients: Sequence[str],
        *,
        env_id: str | None = None,
        dsn_ret: str | None = None,
        notify: str | None = None,
        orcpt: str | None = None,
        account: int | None = None,
        identity: int | None = None,
        email: int | None = None,
        thread: int | None = None,
        send_at: float | None = None,
        lifetime: float | None = None,
        now: float | None = None,
        rcpt_params: Sequence[tuple[str | None, str | None]] | None = None,
        body_type: str | None = None,
        smtputf8: bool = False,
        priority: int = 0,
    ) -> int:
        """Queue ``raw`` for ``recipients``; returns the queue message id once durable.

        Args:
            raw: the message exactly as it is to be sent (trace fields included).
            return_path: the reverse-path; ``""`` is the null sender, which
                never gets a DSN (RFC 5321 §4.5.5).
            recipients: forward-paths; duplicates are queued once.
            env_id, dsn_ret: RFC 3461 ENVID and RET (``FULL``/``HDRS``).
            notify, orcpt: RFC 3461 NOTIFY and ORCPT for every recipient, unless
                ``rcpt_params`` gives ``(notify, orcpt)`` per recipient.
            account, identity, email, thread: a JMAP EmailSubmission's ids.
            send_at: not before this time (default: now).
            lifetime: give up this many seconds after ``now`` (default 5 days).
            body_type, smtputf8: what MAIL FROM must declare (RFC 6152, RFC 6531).

        Raises:
            ValueError: no recipients.
        """
        if not recipients:
            raise ValueError("a queued message needs at least one recipient")
        if rcpt_params is not None and len(rcpt_params) != len(recipients):
            raise ValueError("rcpt_params must match recipients")
        when = time.time() if now is None else now
        start = when if send_at is None else send_at
        expires = when + (DEFAULT_LIFETIME if lifetime is None else lifetime)
        blob = hashlib.sha256(raw).hexdigest()
        inline: bytes | None = raw
        if self._blobs is not None and len(raw) > self._inline_limit:
            stored = await self._blobs.put(raw)  # durable before the row commits
            if stored != blob:
                raise StoreError("the blob store returned another id")
            inline = None
        params = rcpt_params or [(notify, orcpt)] * len(recipients)
        unique = dict(zip(recipients, params, strict=True))

        def write(ops: WriteOps) -> int:
            ops.put_blob(blob, inline, when, len(raw))
            (message,) = ops.execute(
                "INSERT INTO queue_messages (account, identity, email, thread, blob, size, "
                "return_path, env_id, dsn_ret, body_type, smtputf8, priority, created, send_at, "
                "expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (account, identity, email, thread, blob, len(raw), return_path, env_id,
                 dsn_ret, body_type, smtputf8, priority, when, start, expires),
            ).rows[0]  # fmt: skip
            for rcpt, (rcpt_notify, rcpt_orcpt) in unique.items():
                ops.execute(
                    "INSERT INTO queue_recipients (message, recipient, next_attempt, notify, "
                    "orcpt) VALUES (?, ?, ?, ?, ?)",
                    (message, rcpt, start, rcpt_notify, rcpt_orcpt),
                )
            if account is not None:
                modseq = ops.bump_modseq(account)
                ops.execute("UPDATE queue_messages SET modseq = ? WHERE id = ?", (modseq, message))
                ops.record_change(account, modseq, "submission", int(message), created=True)
            return int(message)

        message: int = await self._backend.write(write)
        self._wake(account, message)
        return message

    # ---- reads -------------------------------------------------------------------

    async def get(self, message: int) -> QueuedMessage:
        """A queued message with all its recipients; NoSuchItem if it left the queue."""
        found = await self._backend.read(lambda ops: _message(ops, message))
        if found is None:
            raise NoSuchItem(f"no queued message {message}")
        return found

    async def list(self, *, limit: int = 1000) -> list[QueuedMessage]:
        """Queued messages, oldest first, each with its recipients."""

        def read(ops: ReadOps) -> list[QueuedMessage]:
            rows = ops.select(
                f"SELECT {_MESSAGE_COLUMNS} FROM queue_messages ORDER BY id LIMIT ?", (limit,)
            )
            return [QueuedMessage.from_row(r, _recipients(ops, int(r[0]))) for r in rows]

        return await self._backend.read(read)

    async def raw(self, message: int) -> bytes:
        """The queued message's bytes."""

        def read(ops: ReadOps) -> tuple[str, bytes | None]:
            rows = ops.select("SELECT blob FROM queue_messages WHERE id = ?", (message,))
            if not rows:
                raise NoSuchItem(f"no queued message {message}")
            return rows[0][0], ops.blob(rows[0][0])

        blob, data = await self._backend.read(read)
        if data is None and self._blobs is not None:
            data = await self._blobs.get(blob)
        if data is None:
            raise StoreError(f"the bytes of queued message {message} (blob {blob}) are missing")
        return bytes(data)

    async def next_due(self) -> float | None:
        """When the earliest unfinished recipient may next be claimed (None: nothing queued)."""
        rows = await self._backend.read(
            lambda ops: ops.select(
                "SELECT min(CASE WHEN lease_until IS NOT NULL AND lease_until > next_attempt "
                "THEN lease_until ELSE next_attempt END) FROM queue_recipients "
                "WHERE next_attempt IS NOT NULL"
            )
        )
        return None if rows[0][0] is None else float(rows[0][0])

    # ---- the queue manager ---------------------------------------------------

    async def claim(
        self, owner: str, *, lease: float, limit: int = 100, now: float | None = None
    ) -> list[QueuedMessage]:
        """Lease up to ``limit`` due recipients to ``owner`` for ``lease`` seconds.

        Due: not final, ``next_attempt`` reached, no live lease. Returns their
        messages, each with only the recipients claimed, oldest attempt first.
        """
        when = time.time() if now is None else now

        def write(ops: WriteOps) -> list[QueuedMessage]:
            lock = " FOR UPDATE SKIP LOCKED" if ops.backend_name == "postgres" else ""
            due = ops.select(
                "SELECT message, recipient FROM queue_recipients WHERE next_attempt <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?) "
                f"ORDER BY next_attempt, message LIMIT ?{lock}",
                (when, when, limit),
            )
            by_message: dict[int, list[QueuedRecipient]] = {}
            for message, rcpt in due:
                (row,) = ops.execute(
                    "UPDATE queue_recipients SET lease_owner = ?, lease_until = ? "
                    f"WHERE message = ? AND recipient = ? RETURNING {_RECIPIENT_COLUMNS}",
                    (owner, when + lease, message, rcpt),
                ).rows
                by_message.setdefault(int(message), []).append(QueuedRecipient.from_row(row))
            out = []
            for message, claimed in by_message.items():
                rows = ops.select(
                    f"SELECT {_MESSAGE_COLUMNS} FROM queue_messages WHERE id = ?", (message,)
                )
                out.append(QueuedMessage.from_row(rows[0], claimed))
            return out

        return await self._backend.write(write)

    async def record(
        self, message: int, owner: str, results: Sequence[Result], *, now: float | None = None
    ) -> list[str]:
        """Store one attempt's results for recipients leased to ``owner``; drop their leases.

        A message whose recipients are then all final leaves the queue (unless
        it is an account's submission). Returns the recipients updated: one
        whose lease passed to another owner, or that was cancelled, is skipped.
        """
        when = time.time() if now is None else now

        def write(ops: WriteOps) -> tuple[list[str], int | None]:
            done = []
            account = None
            for r in results:
                executed = ops.execute(
                    "UPDATE queue_recipients SET status = ?, attempts = attempts + 1, "
                    "next_attempt = ?, last_attempt = ?, last_code = ?, last_status = ?, "
                    "last_error = ?, remote_mta = ?, lease_owner = NULL, lease_until = NULL "
                    "WHERE message = ? AND recipient = ? AND lease_owner = ?",
                    (r.status, r.next_attempt, when, r.code, r.enhanced, r.text, r.remote_mta,
                     message, r.recipient, owner),
                )  # fmt: skip
                if executed.rowcount:
                    done.append(r.recipient)
            if done:
                account = _touch(ops, message)
                _drop_if_finished(ops, message)
            return done, account

        done, account = await self._backend.write(write)
        if account is not None:
            self._wake(account)  # a JMAP EmailSubmission's deliveryStatus moved (push)
        return done

    async def release(self, message: int, owner: str, recipients: Sequence[str]) -> None:
        """Give leased recipients back untried (e.g. at shutdown)."""

        def write(ops: WriteOps) -> None:
            for rcpt in recipients:
                ops.execute(
                    "UPDATE queue_recipients SET lease_owner = NULL, lease_until = NULL "
                    "WHERE message = ? AND recipient = ? AND lease_owner = ?",
                    (message, rcpt, owner),
                )

        await self._backend.write(write)
        self._wake()

    # ---- management (CLI, JMAP) ------------------------------------------------

    async def retry(
        self, message: int, recipient: str | None = None, *, now: float | None = None
    ) -> int:
        """Make a message's unfinished recipients (or one) due now; how many.

        Raises:
            NoSuchItem: no such queued message.
        """
        when = time.time() if now is None else now

        def write(ops: WriteOps) -> int:
            if not ops.select("SELECT id FROM queue_messages WHERE id = ?", (message,)):
                raise NoSuchItem(f"no queued message {message}")
            extra, params = ("", ()) if recipient is None else (" AND recipient = ?", (recipient,))
            return ops.execute(
                "UPDATE queue_recipients SET next_attempt = ? "
                f"WHERE message = ? AND next_attempt IS NOT NULL{extra}",
                (when, message, *params),
            ).rowcount

        count: int = await self._backend.write(write)
        self._wake()
        return count

    async def cancel(self, message: int, recipient: str | None = None) -> None:
        """Remove a message from the queue (or one recipient; the message goes with its
        last), without notification. A delivery in flight may still complete.

        Raises:
            NoSuchItem: no such message or recipient.
        """

        def write(ops: WriteOps) -> None:
            if recipient is None:
                _touch(ops, message)
                if not _drop(ops, message):
                    raise NoSuchItem(f"no queued message {message}")
                return
            gone = ops.execute(
                "DELETE FROM queue_recipients WHERE message = ? AND recipient = ?",
                (message, recipient),
            ).rowcount
            if not gone:
                raise NoSuchItem(f"no recipient {recipient} of queued message {message}")
            left = ops.select("SELECT count(*) FROM queue_recipients WHERE message = ?", (message,))
            if not left[0][0]:
                _drop(ops, message)

        await self._backend.write(write)

    async def delete(self, message: int) -> None:
        """Forget a finished or unwanted message (JMAP EmailSubmission/set destroy)."""

        def write(ops: WriteOps) -> None:
            if not _drop(ops, message):
                raise NoSuchItem(f"no queued message {message}")

        await self._backend.write(write)

    # ---- JMAP EmailSubmission (appended: reads and the submission writes) -------

    async def submissions(
        self, account: int, messages: Sequence[int] | None = None
    ) -> list[QueuedMessage]:
        """The account's submissions (all, or those of ``messages`` that are its), each
        with all its recipients, oldest first."""

        def read(ops: ReadOps) -> list[QueuedMessage]:
            rows = ops.select(
                f"SELECT {_MESSAGE_COLUMNS} FROM queue_messages WHERE account = ? ORDER BY id",
                (account,),
            )
            wanted = None if messages is None else set(messages)
            return [
                QueuedMessage.from_row(r, _recipients(ops, int(r[0])))
                for r in rows
                if wanted is None or int(r[0]) in wanted
            ]

        return await self._backend.read(read)

    async def finished_submissions(
        self, before: float, *, limit: int = 500
    ) -> list[tuple[int, int]]:
        """(account, message) of submissions with nothing left to attempt (every
        recipient final or canceled) whose last attempt (or, with none, send time)
        is before ``before``: what JMAP may forget (RFC 8621 §7), oldest first."""
        return await self._backend.read(
            lambda ops: [
                (int(account), int(message))
                for account, message in ops.select(
                    "SELECT m.account, m.id FROM queue_messages m WHERE m.account IS NOT NULL "
                    "AND NOT EXISTS (SELECT 1 FROM queue_recipients r WHERE r.message = m.id "
                    "AND r.next_attempt IS NOT NULL) AND coalesce((SELECT max(r.last_attempt) "
                    "FROM queue_recipients r WHERE r.message = m.id), m.send_at) < ? "
                    "ORDER BY m.id LIMIT ?",
                    (before, limit),
                )
            ]
        )

    async def cancel_submission(self, account: int, message: int) -> bool:
        """Cancel an account's submission that nothing has been attempted for yet
        (RFC 8621 §7 ``undoStatus`` ``canceled``); it stays as a record.

        Returns False (nothing changed) when an attempt was made or is in flight.

        Raises:
            NoSuchItem: not the account's submission.
        """
        now = time.time()

        def write(ops: WriteOps) -> bool:
            rows = ops.select(
                "SELECT undo_status FROM queue_messages WHERE id = ? AND account = ?",
                (message, account),
            )
            if not rows:
                raise NoSuchItem(f"no submission {message}")
            if rows[0][0] == "canceled":
                return True
            busy = ops.select(
                "SELECT count(*) FROM queue_recipients WHERE message = ? AND (attempts > 0 "
                "OR next_attempt IS NULL OR (lease_until IS NOT NULL AND lease_until > ?))",
                (message, now),
            )
            if busy[0][0]:
                return False
            ops.execute(
                "UPDATE queue_recipients SET status = 'failed', next_attempt = NULL, "
                "last_error = 'canceled' WHERE message = ?",
                (message,),
            )
            ops.execute(
                "UPDATE queue_messages SET undo_status = 'canceled' WHERE id = ?", (message,)
            )
            _touch(ops, message)
            return True

        done: bool = await self._backend.write(write)
        self._wake(account)
        return done

    async def delete_submission(self, account: int, message: int) -> None:
        """Forget an account's submission record (RFC 8621 §7.5: a delivery still
        queued goes on: the message then leaves the account and stays queued).

        Raises:
            NoSuchItem: not the account's submission.
        """

        def write(ops: WriteOps) -> None:
            rows = ops.select(
                "SELECT id FROM queue_messages WHERE id = ? AND account = ?", (message, account)
            )
            if not rows:
                raise NoSuchItem(f"no submission {message}")
            modseq = ops.bump_modseq(account)
            ops.record_change(account, modseq, "submission", message, destroyed=True)
            ops.execute("UPDATE queue_messages SET account = NULL WHERE id = ?", (message,))
            _drop_if_finished(ops, message)

        await self._backend.write(write)
        self._wake(account)
