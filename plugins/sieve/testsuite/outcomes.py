"""What the testsuite commands share: the block outcome, control-flow exceptions, and
access to the suite state from a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast, final

from plugins.sieve.testsuite.state import SuiteHost, SuiteState

if TYPE_CHECKING:
    from plugins.sieve.interpreter import Run

__all__ = ["CAPABILITY", "BlockOutcome", "CheckSkipped", "TestFailed", "state_of", "sync"]

CAPABILITY = "vnd.dovecot.testsuite"


class TestFailed(Exception):
    """``test_fail``: the current block failed."""

    __test__ = False


class CheckSkipped(Exception):
    """A Pigeonhole-specific check that this implementation does not mirror."""


@final
@dataclass
class BlockOutcome:
    """What happened to one ``test`` block."""

    name: str
    line: int
    status: str = "passed"
    reason: str = ""


def state_of(run: Run) -> SuiteState:
    """The suite state behind a run's host."""
    return cast(SuiteHost, run.host).state


def sync(run: Run, state: SuiteState) -> None:
    """Point the run at the suite's current result and envelope."""
    run.result = state.result
    run.envelope = state.envelope


# -- validation --------------------------------------------------------------------
