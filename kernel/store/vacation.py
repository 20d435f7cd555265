"""The JMAP VacationResponse singleton of each account (RFC 8621 §8).

One row per account in ``vacation_responses``; an account without a row reads
as the default response (disabled, no dates, no subject or bodies, §8.1: the
object "MUST" always exist, so it is never created or destroyed, only updated).

Every update bumps the account's modseq and is logged under kind ``vacation``
(item 0: there is one object) and published as a ``vacation`` event. Delivery
reads it with :meth:`Vacations.get` and decides with :meth:`VacationResponse.active_at`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, final

from kernel.events import ChangeEvent
from kernel.store.interfaces import Backend, ReadOps, WriteOps

__all__ = ["KIND", "VacationResponse", "Vacations"]

#: The change-log and event kind of vacation responses.
KIND = "vacation"

_COLUMNS = "is_enabled, from_date, to_date, subject, text_body, html_body, modseq"


@final
@dataclass(frozen=True, slots=True)
class VacationResponse:
    """An account's vacation response; dates are epoch seconds (UTC) or None."""

    is_enabled: bool = False
    from_date: float | None = None
    to_date: float | None = None
    subject: str | None = None
    text_body: str | None = None
    html_body: str | None = None
    modseq: int = 0

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> VacationResponse:
        enabled, from_date, to_date, subject, text, html, modseq = row
        return cls(bool(enabled), from_date, to_date, subject, text, html, int(modseq))

    def active_at(self, when: float) -> bool:
        """RFC 8621 §8: enabled, and ``when`` is at or after ``fromDate`` and before ``toDate``."""
        if not self.is_enabled:
            return False
        if self.from_date is not None and when < self.from_date:
            return False
        return not (self.to_date is not None and when >= self.to_date)


def _read(ops: ReadOps, account: int) -> VacationResponse:
    rows = ops.select(f"SELECT {_COLUMNS} FROM vacation_responses WHERE account = ?", (account,))
    return VacationResponse.from_row(rows[0]) if rows else VacationResponse()


@final
class Vacations:
    """The vacation-response part of the domain API.

    Args:
        backend: the store backend.
        publish: called with a change event after each committed change.
    """

    def __init__(
        self, backend: Backend, publish: Callable[[ChangeEvent], None] | None = None
    ) -> None:
        self._backend = backend
        self._publish = publish

    async def get(self, account: int) -> VacationResponse:
        """The account's vacation response (the disabled default when never set)."""
        result: VacationResponse = await self._backend.read(lambda ops: _read(ops, account))
        return result

    async def put(self, account: int, response: VacationResponse) -> VacationResponse:
        """Replace the account's vacation response; returns it with its new modseq."""

        def write(ops: WriteOps) -> tuple[VacationResponse, int]:
            modseq = ops.bump_modseq(account)
            values = (
                response.is_enabled,
                response.from_date,
                response.to_date,
                response.subject,
                response.text_body,
                response.html_body,
                modseq,
            )
            ops.execute(
                f"INSERT INTO vacation_responses (account, {_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account) DO UPDATE SET "
                "is_enabled = excluded.is_enabled, from_date = excluded.from_date, "
                "to_date = excluded.to_date, subject = excluded.subject, "
                "text_body = excluded.text_body, html_body = excluded.html_body, "
                "modseq = excluded.modseq",
                (account, *values),
            )
            ops.record_change(account, modseq, KIND, 0)
            return replace(response, modseq=modseq), modseq

        stored, modseq = await self._backend.write(write)
        if self._publish is not None:
            self._publish(ChangeEvent(account=str(account), kind=KIND, modseq=modseq))
        result: VacationResponse = stored
        return result
