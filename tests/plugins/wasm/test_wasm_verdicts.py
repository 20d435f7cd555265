"""Actions to pipeline verdicts: refusals, header edits, scores, and Sieve's filing
rules at delivery (keep, fileinto, discard, flags, redirect)."""

from __future__ import annotations

from pathlib import Path

import pytest
from wasm_support import LogCapture

from kernel.pipeline import Filing, Verdict, VerdictAction
from plugins.wasm.actions import (
    AddFlags,
    AddHeader,
    DeleteHeader,
    Discard,
    FileInto,
    Keep,
    Redirect,
    Reject,
    RemoveFlags,
    Score,
    SetFlags,
    Tempfail,
    describe,
)
from plugins.wasm.config import ModuleSpec
from plugins.wasm.sandbox import CallOutcome, Limits
from plugins.wasm.verdicts import module_verdict, stage_verdict

SPEC = ModuleSpec("m", Path("m.wasm"), None, Limits(), "keep", "X-Rule-Score")


def verdict(*actions, stage: str = "delivery") -> Verdict | None:
    return module_verdict(SPEC, stage, tuple(actions))


def test_wasm_verdicts_no_actions_is_no_opinion() -> None:
    assert verdict() is None
    assert verdict(Keep(), stage="data") is None


def test_wasm_verdicts_first_refusal_wins() -> None:
    got = verdict(AddHeader("X-A", "1"), Tempfail(452, "4.2.2", "full"), Reject(550, "5.7.1", "no"))
    assert got == Verdict.tempfail("full", code=452, status="4.2.2")


def test_wasm_verdicts_headers_and_summed_score() -> None:
    got = verdict(
        AddHeader("X-A", "1"),
        Score(3),
        DeleteHeader("X-B"),
        Score(-1),
        DeleteHeader("X-B"),
        stage="data",
    )
    assert got == Verdict.accept(
        add_headers=(("X-A", "1"), ("X-Rule-Score", "2")), remove_headers=("X-B",)
    )


@pytest.mark.parametrize(
    ("actions", "filings"),
    [
        ((Keep(),), (Filing(None),)),
        ((Discard(),), ()),
        ((Discard(), FileInto("Trash")), (Filing("Trash"),)),
        ((SetFlags(("$seen",)),), (Filing(None, ("$seen",)),)),
        (
            (AddFlags(("$seen", "work")), RemoveFlags(("$seen",)), Keep(), FileInto("A", True)),
            (Filing(None, ("work",)), Filing("A", ("work",), create=True)),
        ),
        ((SetFlags(("a",)), FileInto("B", flags=("b",))), (Filing("B", ("b",)),)),
        # deviation(RFC 5228 §4.2): an unsent redirect keeps the implicit keep.
        ((Redirect("x@example.net"),), None),
    ],
)
def test_wasm_verdicts_filings_follow_sieve(actions: tuple, filings: tuple | None) -> None:
    got = verdict(*actions)
    assert (got.filings if got is not None else None) == filings


def test_wasm_verdicts_redirect_is_logged(wasm_log: LogCapture) -> None:
    verdict(Redirect("x@example.net", copy=True))
    [event] = wasm_log.events("wasm-redirect")
    assert event["to"] == "x@example.net" and event["carried_out"] is False


def test_wasm_verdicts_stage_merges_and_stops_at_refusal() -> None:
    other = ModuleSpec("n", Path("n.wasm"), None, Limits(), "keep", "X-N-Score")
    outcomes = [
        (SPEC, CallOutcome((Score(2),))),
        (other, CallOutcome((Score(5), FileInto("Lists")))),
        (SPEC, CallOutcome((Reject(554, "5.7.0", "stop"),))),
        (other, CallOutcome((AddHeader("X-Late", "1"),))),
    ]
    assert stage_verdict("delivery", outcomes[:2]) == Verdict.accept(
        add_headers=(("X-Rule-Score", "2"), ("X-N-Score", "5")), filings=(Filing("Lists"),)
    )
    refused = stage_verdict("data", outcomes)
    assert refused is not None and refused.action is VerdictAction.REJECT
    assert refused.code == 554


def test_wasm_verdicts_describe_lines() -> None:
    actions = [
        Keep(),
        FileInto("Lists/Py", True, ("$seen", "list")),
        Reject(550, "5.7.1", 'say "no"'),
        Redirect("a@b.example", copy=True),
        AddHeader("X-A", "v"),
        Score(2),
        SetFlags(("$flagged",)),
        Score(3),
    ]
    assert describe(actions) == [
        "keep",
        'fileinto "Lists/Py" :create :flags "$seen list"',
        'reject 550 5.7.1 "say \\"no\\""',
        'redirect "a@b.example" :copy',
        'addheader "X-A" "v"',
        'setflag "$flagged"',
        "score 5",
    ]


def test_wasm_verdicts_sent_redirect_cancels_the_implicit_keep() -> None:
    assert module_verdict(SPEC, "delivery", (Redirect("x@example.net"),), True) == (
        Verdict.discard()
    )
    assert module_verdict(SPEC, "delivery", (Redirect("x@example.net", copy=True),), True) is None
    kept = module_verdict(SPEC, "delivery", (Redirect("x@example.net"), Keep()), True)
    assert kept is not None and kept.filings == (Filing(None),)
