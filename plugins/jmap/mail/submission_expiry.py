"""Forgetting old EmailSubmission records (RFC 8621 §7: "the server MAY choose to
delete EmailSubmission objects after a certain time").

A submission is kept while any recipient may still be attempted. Once every
recipient is final (delivered, failed, or the send was canceled), it lives on for
``jmap.submission_retention`` (default 7 days) counted from its last delivery
attempt, or from its send time when nothing was attempted (a canceled send); then
the sweeper destroys it through the store's ``delete_submission``, which logs
the destruction under kind ``submission`` so EmailSubmission/changes reports it
in ``destroyed`` and a ``queue`` event pushes the new state.

Implementation notes:

* The sweep runs in the plugin's service nursery, every
  :func:`sweep_interval` seconds (half the retention, between 1 second and 10
  minutes), so a short retention (tests) is honoured promptly and the default
  costs one indexed read every 10 minutes.
* Each pass reads at most ``BATCH`` submissions at a time and loops until
  fewer come back; one already destroyed meanwhile (by the user) is skipped.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import trio

from kernel.errors import KernelError, NoSuchItem
from plugins.jmap.config import settings_of

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel

__all__ = ["BATCH", "run_submission_sweeper", "sweep_interval", "sweep_submissions"]

#: Submissions read per store round trip.
BATCH = 500
_LONGEST = 600.0
_SHORTEST = 1.0


def sweep_interval(retention: float) -> float:
    """Seconds between two sweeps for ``retention``."""
    return min(_LONGEST, max(retention / 2, _SHORTEST))


async def sweep_submissions(kernel: Kernel, retention: float, *, now: float | None = None) -> int:
    """Destroy the submissions finished more than ``retention`` seconds ago; how many."""
    before = (time.time() if now is None else now) - retention
    queue = kernel.store.queue
    destroyed = 0
    while True:
        found = await queue.finished_submissions(before, limit=BATCH)
        for account, message in found:
            try:
                await queue.delete_submission(account, message)
            except NoSuchItem:
                continue  # destroyed by its user meanwhile
            destroyed += 1
        if len(found) < BATCH:
            return destroyed


async def run_submission_sweeper(
    kernel: Kernel, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Sweep until cancelled (the retention is re-read each time: it is reloadable)."""
    task_status.started()
    log = kernel.logger("jmap")
    while True:
        retention = settings_of(kernel.config).submission_retention
        try:
            count = await sweep_submissions(kernel, retention)
        except (KernelError, OSError) as exc:  # try again next time
            log.error("submission-sweep-failed", error=f"{type(exc).__name__}: {exc}")
        else:
            if count:
                log.info("submissions-expired", count=count)
        await trio.sleep(sweep_interval(retention))
