"""Sending identities (JMAP Identity, RFC 8621 §6): who an account may send as.

Implementation notes:

* One row of ``identities`` per identity; ``reply_to`` and ``bcc`` are JSON
  lists of ``{"name", "email"}`` objects (RFC 8621 §4.1.2.3 EmailAddress) or
  NULL. The store does not check that ``email`` is the account's: the caller
  (JMAP) decides which addresses an account owns.
* Every write bumps the account's modseq and logs the identity under change
  kind ``identity`` (JMAP Identity/changes), and publishes a
  :class:`ChangeEvent` of that kind.
* :meth:`Identities.ensure_default` creates the account's default identity
  (its own address, ``may_delete`` false) the first time it is asked for and
  the account has none; concurrent callers create it once (the check and the
  insert run in one write transaction).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, final

from kernel.errors import NoSuchItem, PreconditionFailed
from kernel.events import ChangeEvent
from kernel.store.interfaces import Backend, ReadOps, WriteOps

__all__ = ["KIND", "Identities", "Identity"]

#: The change-log and change-event kind of identities.
KIND = "identity"

_COLUMNS = (
    "id, account, name, email, reply_to, bcc, text_signature, html_signature, may_delete, modseq"
)
#: Fields :meth:`Identities.update` accepts, to their column.
_FIELDS = {
    "name": "name",
    "reply_to": "reply_to",
    "bcc": "bcc",
    "text_signature": "text_signature",
    "html_signature": "html_signature",
}


def _addresses(value: str | None) -> tuple[dict[str, Any], ...] | None:
    return None if value is None else tuple(json.loads(value))


def _json(value: Sequence[dict[str, Any]] | None) -> str | None:
    return None if value is None else json.dumps(list(value))


@final
@dataclass(frozen=True, slots=True)
class Identity:
    """One sending identity of an account."""

    id: int
    account: int
    name: str
    email: str
    reply_to: tuple[dict[str, Any], ...] | None
    bcc: tuple[dict[str, Any], ...] | None
    text_signature: str
    html_signature: str
    may_delete: bool
    modseq: int

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Identity:
        i, account, name, email, reply_to, bcc, text, html, may_delete, modseq = row
        return cls(
            int(i), int(account), name, email, _addresses(reply_to), _addresses(bcc),
            text, html, bool(may_delete), int(modseq),
        )  # fmt: skip


def _list(ops: ReadOps, account: int) -> list[Identity]:
    rows = ops.select(
        f"SELECT {_COLUMNS} FROM identities WHERE account = ? ORDER BY id", (account,)
    )
    return [Identity.from_row(r) for r in rows]


def _one(ops: ReadOps, account: int, identity: int) -> Identity:
    rows = ops.select(
        f"SELECT {_COLUMNS} FROM identities WHERE id = ? AND account = ?", (identity, account)
    )
    if not rows:
        raise NoSuchItem(f"no identity {identity}")
    return Identity.from_row(rows[0])


def _insert(
    ops: WriteOps, account: int, modseq: int, email: str, fields: dict[str, Any], may_delete: bool
) -> int:
    (new_id,) = ops.execute(
        "INSERT INTO identities (account, name, email, reply_to, bcc, text_signature, "
        "html_signature, may_delete, modseq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            account,
            fields.get("name", ""),
            email,
            _json(fields.get("reply_to")),
            _json(fields.get("bcc")),
            fields.get("text_signature", ""),
            fields.get("html_signature", ""),
            may_delete,
            modseq,
        ),
    ).rows[0]
    ops.record_change(account, modseq, KIND, int(new_id), created=True)
    return int(new_id)


@final
class Identities:
    """The identity part of the domain API.

    Args:
        backend: the store backend.
        publish: called with a change event of kind ``identity`` after each write.
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

    async def list(self, account: int) -> list[Identity]:
        """The account's identities, oldest first."""
        return await self._backend.read(lambda ops: _list(ops, account))

    async def get(self, account: int, identity: int) -> Identity:
        """One identity; NoSuchItem if it is not the account's."""
        return await self._backend.read(lambda ops: _one(ops, account, identity))

    # ---- writes --------------------------------------------------------------

    async def ensure_default(self, account: int, email: str, name: str = "") -> list[Identity]:
        """The account's identities, after creating the default one (``email``,
        not deletable) if it has none."""
        existing = await self.list(account)
        if existing:
            return existing

        def write(ops: WriteOps) -> list[Identity]:
            if _list(ops, account):
                return _list(ops, account)  # another caller made it meanwhile
            modseq = ops.bump_modseq(account)
            _insert(ops, account, modseq, email, {"name": name}, False)
            return _list(ops, account)

        created: list[Identity] = await self._backend.write(write)
        if self._publish is not None:
            self._publish(ChangeEvent(account=str(account), kind=KIND, modseq=created[0].modseq))
        return created

    async def create(
        self, account: int, email: str, *, may_delete: bool = True, **fields: Any
    ) -> Identity:
        """A new identity for ``email``; ``fields`` are those :meth:`update` takes."""
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown identity fields: {sorted(unknown)}")

        def write(ops: WriteOps, modseq: int) -> Identity:
            return _one(ops, account, _insert(ops, account, modseq, email, fields, may_delete))

        result: Identity = await self._write(account, write)
        return result

    async def update(self, account: int, identity: int, **fields: Any) -> Identity:
        """Change ``name``, ``reply_to``, ``bcc``, ``text_signature``, ``html_signature``
        (``email`` is immutable, RFC 8621 §6)."""
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown identity fields: {sorted(unknown)}")

        def write(ops: WriteOps, modseq: int) -> Identity:
            _one(ops, account, identity)
            sets = ", ".join(f"{_FIELDS[k]} = ?" for k in fields)
            values = [_json(v) if k in ("reply_to", "bcc") else v for k, v in fields.items()]
            prefix = f"{sets}, " if sets else ""
            ops.execute(
                f"UPDATE identities SET {prefix}modseq = ? WHERE id = ?",
                (*values, modseq, identity),
            )
            ops.record_change(account, modseq, KIND, identity)
            return _one(ops, account, identity)

        result: Identity = await self._write(account, write)
        return result

    async def delete(self, account: int, identity: int) -> None:
        """Delete an identity.

        Raises:
            NoSuchItem: not the account's.
            PreconditionFailed: it may not be deleted (the default identity).
        """

        def write(ops: WriteOps, modseq: int) -> None:
            found = _one(ops, account, identity)
            if not found.may_delete:
                raise PreconditionFailed("this identity may not be deleted")
            ops.execute("DELETE FROM identities WHERE id = ?", (identity,))
            ops.record_change(account, modseq, KIND, identity, destroyed=True)

        await self._write(account, write)
