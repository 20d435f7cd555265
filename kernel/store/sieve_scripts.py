"""Sieve scripts and the Sieve tracking state, for ManageSieve, JMAP and delivery.

An account owns any number of named scripts, at most one of them active
(RFC 5804 §1.2; the partial unique index ``sieve_scripts_active`` enforces
it). A script is stored as its exact octets (``source``) and, as a cache, the
compiled form the Sieve plugin produced at upload (``compiled``, opaque bytes
here); delivery runs the cache and recompiles only when it is missing.

Every change bumps the account's modseq and is logged under kind ``sieve``
(JMAP SieveScript/changes, RFC 9661) and published as a ``sieve`` event.

The tracking state is what the vacation (``:days``/``:seconds``, RFC 5230 §4.2)
and duplicate (RFC 7352) tests remember: a digest per ``kind``, alive until
``expires``. :meth:`SieveScripts.track` answers "seen before?" and records the
digest in one transaction, so two concurrent deliveries cannot both answer
"new".

Implementation notes:

* Names compare bytewise (the column is ``COLLATE "C"`` on PostgreSQL); the
  caller checks a name's syntax (RFC 5804 §1.6) before calling.
* Limits (how many scripts, how large) are the caller's configuration, checked
  inside the write transaction so concurrent uploads cannot overshoot.
* Name uniqueness is checked in the transaction that writes the name
  (:meth:`SieveScripts.put` with ``create_only``, :meth:`SieveScripts.update`,
  :meth:`SieveScripts.rename`), after ``bump_modseq`` has serialised the
  account's writers, so of two concurrent creates of one name exactly one
  succeeds and the other gets :class:`~kernel.errors.DuplicateUid` (the
  ``UNIQUE (account, name)`` constraint backs this up).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, final

from kernel.errors import DuplicateUid, NoSuchItem, PreconditionFailed, QuotaExceeded
from kernel.events import ChangeEvent
from kernel.store.interfaces import Backend, ReadOps, WriteOps

__all__ = ["KIND", "SieveScript", "SieveScripts"]

#: The change-log and event kind of Sieve scripts.
KIND = "sieve"

_COLUMNS = "id, account, name, size, is_active, created, updated, modseq"


@final
@dataclass(frozen=True, slots=True)
class SieveScript:
    """One stored script's description (its source and compiled form are read apart)."""

    id: int
    account: int
    name: str
    size: int
    is_active: bool
    created: float
    updated: float
    modseq: int

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> SieveScript:
        i, account, name, size, active, created, updated, modseq = row
        return cls(i, account, name, size, bool(active), created, updated, modseq)


def _one(ops: ReadOps, account: int, name: str) -> SieveScript | None:
    rows = ops.select(
        f"SELECT {_COLUMNS} FROM sieve_scripts WHERE account = ? AND name = ?", (account, name)
    )
    return SieveScript.from_row(rows[0]) if rows else None


def _need(ops: ReadOps, account: int, name: str) -> SieveScript:
    script = _one(ops, account, name)
    if script is None:
        raise NoSuchItem(f"no script named {name!r}")
    return script


@final
class SieveScripts:
    """The Sieve part of the domain API.

    Args:
        backend: the store backend.
        publish: called with a change event after each committed change.
    """

    def __init__(
        self, backend: Backend, publish: Callable[[ChangeEvent], None] | None = None
    ) -> None:
        self._backend = backend
        self._publish = publish

    async def _write(self, account: int, fn: Callable[[WriteOps, int], Any]) -> Any:
        def transaction(ops: WriteOps) -> tuple[Any, int]:
            modseq = ops.bump_modseq(account)
            return fn(ops, modseq), modseq

        result, modseq = await self._backend.write(transaction)
        if self._publish is not None:
            self._publish(ChangeEvent(account=str(account), kind=KIND, modseq=modseq))
        return result

    # ---- reads ---------------------------------------------------------------

    async def list(self, account: int) -> list[SieveScript]:
        """The account's scripts, by name."""
        rows = await self._backend.read(
            lambda ops: ops.select(
                f"SELECT {_COLUMNS} FROM sieve_scripts WHERE account = ? ORDER BY name",
                (account,),
            )
        )
        return [SieveScript.from_row(row) for row in rows]

    async def get(self, account: int, name: str) -> tuple[SieveScript, bytes]:
        """A script and its source; NoSuchItem if the account has no such script."""

        def read(ops: ReadOps) -> tuple[SieveScript, bytes]:
            script = _need(ops, account, name)
            (source,) = ops.select("SELECT source FROM sieve_scripts WHERE id = ?", (script.id,))[0]
            return script, bytes(source)

        return await self._backend.read(read)

    async def get_by_id(self, account: int, script: int) -> tuple[SieveScript, bytes]:
        """A script by id (JMAP) and its source; NoSuchItem if not this account's."""

        def read(ops: ReadOps) -> tuple[SieveScript, bytes]:
            rows = ops.select(
                f"SELECT {_COLUMNS}, source FROM sieve_scripts WHERE id = ? AND account = ?",
                (script, account),
            )
            if not rows:
                raise NoSuchItem(f"no script {script}")
            return SieveScript.from_row(rows[0][:-1]), bytes(rows[0][-1])

        return await self._backend.read(read)

    async def active(self, account: int) -> tuple[SieveScript, bytes, bytes | None] | None:
        """The active script with its source and cached compiled form, or None."""

        def read(ops: ReadOps) -> tuple[SieveScript, bytes, bytes | None] | None:
            rows = ops.select(
                f"SELECT {_COLUMNS}, source, compiled FROM sieve_scripts "
                "WHERE account = ? AND is_active",
                (account,),
            )
            if not rows:
                return None
            *meta, source, compiled = rows[0]
            return (
                SieveScript.from_row(tuple(meta)),
                bytes(source),
                None if compiled is None else bytes(compiled),
            )

        return await self._backend.read(read)

    async def usage(self, account: int) -> tuple[int, int]:
        """How many scripts the account has and their total size in octets."""
        rows = await self._backend.read(
            lambda ops: ops.select(
                "SELECT count(*), coalesce(sum(size), 0) FROM sieve_scripts WHERE account = ?",
                (account,),
            )
        )
        return int(rows[0][0]), int(rows[0][1])

    # ---- writes --------------------------------------------------------------

    async def put(
        self,
        account: int,
        name: str,
        source: bytes,
        compiled: bytes | None,
        *,
        max_scripts: int | None = None,
        max_size: int | None = None,
        now: float | None = None,
        create_only: bool = False,
    ) -> SieveScript:
        """Create script ``name`` or replace its source (it keeps its id and active flag).

        With ``create_only`` an existing script of that name is left alone and
        the call fails (JMAP SieveScript/set create, RFC 9661 §2.4 alreadyExists).

        Raises:
            QuotaExceeded: ``source`` is over ``max_size`` octets, or a new
                script would make more than ``max_scripts``.
            DuplicateUid: ``create_only`` and a script ``name`` exists.
        """
        if max_size is not None and len(source) > max_size:
            raise QuotaExceeded(f"the script is larger than {max_size} octets")
        when = time.time() if now is None else now

        def write(ops: WriteOps, modseq: int) -> SieveScript:
            existing = _one(ops, account, name)
            if existing is not None and create_only:
                raise DuplicateUid(f"a script named {name!r} exists")
            if existing is not None:
                ops.execute(
                    "UPDATE sieve_scripts SET source = ?, size = ?, compiled = ?, updated = ?, "
                    "modseq = ? WHERE id = ?",
                    (source, len(source), compiled, when, modseq, existing.id),
                )
                ops.record_change(account, modseq, KIND, existing.id)
            else:
                if max_scripts is not None:
                    (count,) = ops.select(
                        "SELECT count(*) FROM sieve_scripts WHERE account = ?", (account,)
                    )[0]
                    if count >= max_scripts:
                        raise QuotaExceeded(f"the account already has {count} scripts")
                (new_id,) = ops.execute(
                    "INSERT INTO sieve_scripts "
                    "(account, name, source, size, compiled, is_active, created, updated, modseq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (account, name, source, len(source), compiled, False, when, when, modseq),
                ).rows[0]
                ops.record_change(account, modseq, KIND, int(new_id), created=True)
            return _need(ops, account, name)

        result: SieveScript = await self._write(account, write)
        return result

    async def update(
        self,
        account: int,
        script: int,
        *,
        name: str | None = None,
        content: tuple[bytes, bytes | None] | None = None,
        max_size: int | None = None,
        now: float | None = None,
    ) -> SieveScript:
        """Rename script ``script`` and/or replace its (source, compiled) ``content``
        in one transaction (JMAP SieveScript/set update); it keeps its id and flag.

        Raises:
            NoSuchItem: the account has no script ``script``.
            DuplicateUid: another script is named ``name``.
            QuotaExceeded: the new source is over ``max_size`` octets.
        """
        if content is not None and max_size is not None and len(content[0]) > max_size:
            raise QuotaExceeded(f"the script is larger than {max_size} octets")
        when = time.time() if now is None else now

        def write(ops: WriteOps, modseq: int) -> SieveScript:
            rows = ops.select(
                f"SELECT {_COLUMNS} FROM sieve_scripts WHERE id = ? AND account = ?",
                (script, account),
            )
            if not rows:
                raise NoSuchItem(f"no script {script}")
            current = SieveScript.from_row(rows[0])
            new_name = current.name if name is None else name
            if new_name != current.name:
                if _one(ops, account, new_name) is not None:
                    raise DuplicateUid(f"a script named {new_name!r} exists")
                ops.execute(
                    "UPDATE sieve_scripts SET name = ?, updated = ?, modseq = ? WHERE id = ?",
                    (new_name, when, modseq, script),
                )
            if content is not None:
                source, compiled = content
                ops.execute(
                    "UPDATE sieve_scripts SET source = ?, size = ?, compiled = ?, updated = ?, "
                    "modseq = ? WHERE id = ?",
                    (source, len(source), compiled, when, modseq, script),
                )
            ops.record_change(account, modseq, KIND, script)
            return _need(ops, account, new_name)

        result: SieveScript = await self._write(account, write)
        return result

    async def set_compiled(self, script: int, compiled: bytes) -> None:
        """Refresh the compiled cache of ``script`` (not a change: the source is the same)."""
        await self._backend.write(
            lambda ops: ops.execute(
                "UPDATE sieve_scripts SET compiled = ? WHERE id = ?", (compiled, script)
            )
        )

    async def rename(self, account: int, old: str, new: str, *, now: float | None = None) -> None:
        """Rename a script (RFC 5804 §2.11.1); it keeps its id and active flag.

        Raises:
            NoSuchItem: there is no script ``old``.
            DuplicateUid: a script ``new`` exists.
        """
        when = time.time() if now is None else now

        def write(ops: WriteOps, modseq: int) -> None:
            script = _need(ops, account, old)
            if old == new:
                return
            if _one(ops, account, new) is not None:
                raise DuplicateUid(f"a script named {new!r} exists")
            ops.execute(
                "UPDATE sieve_scripts SET name = ?, updated = ?, modseq = ? WHERE id = ?",
                (new, when, modseq, script.id),
            )
            ops.record_change(account, modseq, KIND, script.id)

        await self._write(account, write)

    async def delete(self, account: int, name: str) -> None:
        """Delete a script that is not active (RFC 5804 §2.10).

        Raises:
            NoSuchItem: there is no such script.
            PreconditionFailed: it is the active script.
        """

        def write(ops: WriteOps, modseq: int) -> None:
            script = _need(ops, account, name)
            if script.is_active:
                raise PreconditionFailed(f"{name!r} is the active script")
            ops.execute("DELETE FROM sieve_scripts WHERE id = ?", (script.id,))
            ops.record_change(account, modseq, KIND, script.id, destroyed=True)

        await self._write(account, write)

    async def set_active(self, account: int, name: str | None) -> None:
        """Make ``name`` the only active script, or (None) deactivate them all (§2.8).

        Raises:
            NoSuchItem: there is no script ``name``.
        """

        def write(ops: WriteOps, modseq: int) -> None:
            target = None if name is None else _need(ops, account, name)
            rows = ops.select(
                "SELECT id FROM sieve_scripts WHERE account = ? AND is_active", (account,)
            )
            for (current,) in rows:
                if target is not None and current == target.id:
                    return  # already the active one: nothing changes
                ops.execute(
                    "UPDATE sieve_scripts SET is_active = ?, modseq = ? WHERE id = ?",
                    (False, modseq, current),
                )
                ops.record_change(account, modseq, KIND, int(current))
            if target is not None:
                ops.execute(
                    "UPDATE sieve_scripts SET is_active = ?, modseq = ? WHERE id = ?",
                    (True, modseq, target.id),
                )
                ops.record_change(account, modseq, KIND, target.id)

        await self._write(account, write)

    # ---- tracking (vacation, duplicate) ----------------------------------------

    async def track(
        self, account: int, kind: str, digest: bytes, lifetime: float, *, now: float | None = None
    ) -> bool:
        """Whether ``digest`` was tracked under ``kind`` and is still alive; (re)track it.

        ``kind`` is ``vacation`` or ``duplicate``. A digest seen before keeps
        its expiry (RFC 7352 §3: the first delivery starts the period; RFC 5230
        §4.2 likewise); a new or expired one lives ``lifetime`` seconds.
        """
        when = time.time() if now is None else now

        def write(ops: WriteOps) -> bool:
            # Insert-or-nothing, then refresh only an expired row: each step is one
            # statement, so concurrent deliveries (PostgreSQL's row locks, SQLite's
            # one writer) see exactly one "new".
            inserted = ops.execute(
                "INSERT INTO sieve_tracking (account, kind, digest, expires) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (account, kind, digest) DO NOTHING",
                (account, kind, digest, when + lifetime),
            )
            if inserted.rowcount == 1:
                return False
            refreshed = ops.execute(
                "UPDATE sieve_tracking SET expires = ? "
                "WHERE account = ? AND kind = ? AND digest = ? AND expires <= ?",
                (when + lifetime, account, kind, digest, when),
            )
            return refreshed.rowcount == 0

        result: bool = await self._backend.write(write)
        return result

    async def forget_tracking(self, account: int, kind: str, digest: bytes) -> None:
        """Drop one tracked digest (a duplicate test whose message then failed to deliver)."""
        await self._backend.write(
            lambda ops: ops.execute(
                "DELETE FROM sieve_tracking WHERE account = ? AND kind = ? AND digest = ?",
                (account, kind, digest),
            )
        )

    async def sweep_tracking(self, *, now: float | None = None) -> int:
        """Delete every expired tracking row; how many went."""
        when = time.time() if now is None else now
        executed = await self._backend.write(
            lambda ops: ops.execute("DELETE FROM sieve_tracking WHERE expires <= ?", (when,))
        )
        return executed.rowcount
