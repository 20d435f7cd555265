"""Turn the actions of a stage's module calls into one pipeline :class:`Verdict`.

Implementation notes:

* The first reject or tempfail decides (``kernel.pipeline`` ends the stage).
* Header edits of every module accumulate; a module's ``score`` actions are
  summed into one field, ``<score_header>: <total>``.
* At delivery the actions run Sieve's way (RFC 5228 §2.10.2): ``keep`` and
  ``fileinto`` each ask for a copy, filed with the current flags (RFC 5232 §3,
  changed by ``setflag``/``addflag``/``removeflag`` in order) unless they name
  their own; ``discard`` cancels the implicit keep; when no copy was asked for
  and nothing cancelled the keep, flags changes still give the implicit keep
  its flags. The first module that chose copies wins (``merge_verdicts``).
* ``redirect`` (RFC 5228 §4.2) cancels the implicit keep when the plugin can
  hand it to the outbound queue (``redirects=True``; the plugin enqueues it
  after the verdict). deviation(RFC 5228 §4.2): without a queue it is only
  logged (``wasm-redirect carried_out=False``) and, so that no mail is lost,
  does not cancel the implicit keep.
* A failed call (trap, fuel, timeout, fault, bad return, load error) is logged
  and answers nothing ("keep"), or a temporary failure when the module's
  ``on_error`` is ``tempfail``.
"""

from __future__ import annotations

from collections.abc import Iterable

from kernel.pipeline import ACCEPTED, Filing, Verdict, merge_verdicts
from kernel.telemetry import get_logger
from plugins.wasm.actions import (
    Action,
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
)
from plugins.wasm.config import ModuleSpec
from plugins.wasm.sandbox import CallOutcome

__all__ = ["module_verdict", "stage_verdict"]

_log = get_logger("wasm")


def _filings(actions: Iterable[Action], redirects: bool) -> tuple[Filing, ...] | None:
    flags: tuple[str, ...] = ()
    flags_changed = discarded = False
    filings: list[Filing] = []
    for action in actions:
        if isinstance(action, SetFlags):
            flags, flags_changed = action.flags, True
        elif isinstance(action, AddFlags):
            flags, flags_changed = tuple(dict.fromkeys(flags + action.flags)), True
        elif isinstance(action, RemoveFlags):
            flags, flags_changed = tuple(f for f in flags if f not in action.flags), True
        elif isinstance(action, Keep):
            filings.append(Filing(None, flags))
        elif isinstance(action, FileInto):
            own = action.flags if action.flags is not None else flags
            filings.append(Filing(action.mailbox, own, create=action.create))
        elif isinstance(action, Discard) or (
            isinstance(action, Redirect) and redirects and not action.copy
        ):
            discarded = True
    if filings:
        return tuple(filings)
    if discarded:
        return ()
    return (Filing(None, flags),) if flags_changed else None


def module_verdict(
    spec: ModuleSpec, stage: str, actions: tuple[Action, ...], redirects: bool = False
) -> Verdict | None:
    """The verdict of one successful call (None: no opinion).

    ``redirects``: whether redirects will be sent (then they cancel the implicit keep).
    """
    for action in actions:
        if isinstance(action, Reject):
            return Verdict.reject(action.text, code=action.code, status=action.status)
        if isinstance(action, Tempfail):
            return Verdict.tempfail(action.text, code=action.code, status=action.status)
    add = [(a.name, a.value) for a in actions if isinstance(a, AddHeader)]
    points = [a.points for a in actions if isinstance(a, Score)]
    if points:
        add.append((spec.score_header, str(sum(points))))
    remove = tuple(dict.fromkeys(a.name for a in actions if isinstance(a, DeleteHeader)))
    for action in actions:
        if isinstance(action, Redirect) and not redirects:
            # deviation(RFC 5228 §4.2): recorded, not sent (see the module notes).
            _log.warning(
                "wasm-redirect",
                module=spec.name,
                to=action.address,
                copy=action.copy,
                carried_out=False,
            )
    filings = _filings(actions, redirects) if stage == "delivery" else None
    if not add and not remove and filings is None:
        return None
    return Verdict.accept(add_headers=tuple(add), remove_headers=remove, filings=filings)


def _failure(spec: ModuleSpec, stage: str, outcome: CallOutcome, queue_id: str) -> Verdict | None:
    _log.warning(
        "wasm-call-failed",
        module=spec.name,
        stage=stage,
        error=outcome.error,
        detail=outcome.detail,
        policy=spec.on_error,
        queue_id=queue_id,
    )
    if spec.on_error != "tempfail":
        return None
    code, status = (421, "4.3.2") if stage == "connect" else (451, "4.3.0")
    return Verdict.tempfail("mail rules unavailable; try again later", code=code, status=status)


def stage_verdict(
    stage: str,
    outcomes: list[tuple[ModuleSpec, CallOutcome]],
    queue_id: str = "",
    *,
    redirects: bool = False,
) -> Verdict | None:
    """The merged verdict of a stage's calls, in order, until one refuses."""
    result: Verdict | None = None
    for spec, outcome in outcomes:
        if outcome.error is not None:
            verdict = _failure(spec, stage, outcome, queue_id)
        else:
            verdict = module_verdict(spec, stage, outcome.actions, redirects)
        if verdict is None:
            continue
        result = merge_verdicts(result or ACCEPTED, verdict)
        if result.refused:
            break
    return result
