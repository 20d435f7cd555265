"""The recipient's active script at local delivery (``stalwart_before_delivery``).

Theory of operation, for one local copy:

1. Read the account's active script (:meth:`kernel.store.SieveScripts.active`). No
   script: no opinion (the copy goes to the default mailbox).
2. Use the compiled form: decoded scripts are remembered per process by script id
   and modseq (a changed script has a new modseq); else the store's cached form;
   when that is missing, corrupt, of another format version or names handlers this
   build lacks, compile the source in a worker thread and refresh the store's cache.
3. Read the account's mailboxes, then run the script in a worker thread with a
   :class:`~plugins.sieve.store_host.StoreHost` under the total time limit. The
   envelope's original recipient is the delivery's ``ORCPT`` (RFC 3461 §4.2).
4. Turn the outcome into a :class:`~kernel.pipeline.Verdict`: keep and fileinto
   become filings (with keywords, ``:create``, ``:specialuse``, ``:mailboxid``),
   discard stores nothing, reject/ereject refuse this recipient (550 5.7.1),
   editheader becomes header edits, per copy when copies differ (RFC 5293 §7);
   redirect, vacation and notify are sent through the outbound queue
   (:mod:`plugins.sieve.outbound`); duplicate keys get their lifetime.

Error handling: a script that does not compile, fails at run time, exceeds a limit
or runs out of time never stops delivery: the error is logged (``sieve-error``) and
the message is kept (RFC 5228 §2.10.6), in INBOX unless another plugin chose
otherwise; flags the script had set on the implicit keep stay (RFC 5232 §3).
Duplicate keys the failed run recorded are forgotten (RFC 7352 §3: only successful
runs update the tracking list).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from kernel import StashKey
from kernel.pipeline import Filing, Verdict
from plugins.sieve.actions import (
    Discard,
    DuplicateMark,
    FileInto,
    Keep,
    Redirect,
    Reject,
    Vacation,
)
from plugins.sieve.errors import SieveCompileError
from plugins.sieve.host import Envelope as SieveEnvelope
from plugins.sieve.interpreter import Interpreter, Outcome
from plugins.sieve.outbound import SENDING, send_actions
from plugins.sieve.registry import default_registry
from plugins.sieve.runner import (
    compile_source,
    decode_compiled,
    encode_compiled,
    limiter_of,
    run_script,
    runnable,
)
from plugins.sieve.store_host import StoreHost, digest
from plugins.sieve.vacation_response import respond_if_away
from plugins.sieve.verdicts import filing_for, per_copy, reply_text

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.pipeline import DeliveryTarget, Envelope, SessionInfo
    from kernel.store import SieveScript
    from kernel.telemetry import StructuredLogger
    from plugins.sieve.compiled import CompiledScript
    from plugins.sieve.config import SieveConfig

__all__ = ["environment", "filter_delivery"]

#: Decoded scripts (or the compile error of a broken one) by (id, modseq, updated):
#: a changed script has a new key.
_COMPILED: Final = StashKey[dict[tuple[int, int, float], "CompiledScript | str"]]()
_MEMO_SIZE: Final = 1024


def environment(kernel: Kernel, session: SessionInfo, phase: str) -> dict[str, str]:
    """RFC 5183 §4 environment items for a run."""
    return {
        "domain": kernel.hostname.partition(".")[2] or kernel.hostname,
        "host": kernel.hostname,
        "location": "MDA" if phase == "during" else "MTA",
        "name": "stalwart-kernel",
        "phase": phase,
        "remote-host": session.helo or "",
        "remote-ip": session.remote[0],
        "version": "0.1",
    }


async def _compiled(
    kernel: Kernel,
    script: SieveScript,
    source: bytes,
    cached: bytes | None,
    conf: SieveConfig,
    log: StructuredLogger,
) -> CompiledScript | None:
    memo = kernel.stash.setdefault(_COMPILED, {})
    key = (script.id, script.modseq, script.updated)
    remembered = memo.get(key)
    if isinstance(remembered, str):  # known not to compile: no second try
        log.error("sieve-error", stage="compile", error=remembered)
        return None
    if remembered is not None:
        return remembered
    compiled = decode_compiled(cached)
    if compiled is not None and runnable(compiled, default_registry()):
        _remember(memo, key, compiled)
        return compiled
    problem: str | None = None
    permanent = True
    if len(source) > conf.max_script_size:
        problem = "script larger than max_script_size"
    else:
        try:
            compiled = await compile_source(
                source, conf.limits(), name=script.name, limiter=limiter_of(kernel)
            )
        except SieveCompileError as error:
            problem = str(error)
        except Exception as error:  # TooSlowError or a compiler bug: keep the message
            problem, permanent = repr(error), False
    if problem is not None:
        log.error("sieve-error", stage="compile", error=problem)
        if permanent:
            _remember(memo, key, problem)
        return None
    await kernel.store.sieve.set_compiled(script.id, encode_compiled(compiled))
    log.info("sieve-recompiled")
    _remember(memo, key, compiled)
    return compiled


def _remember(
    memo: dict[tuple[int, int, float], CompiledScript | str],
    key: tuple[int, int, float],
    compiled: CompiledScript | str,
) -> None:
    memo[key] = compiled
    while len(memo) > _MEMO_SIZE:
        del memo[next(iter(memo))]


async def _forget(kernel: Kernel, account: int, keys: list[str]) -> None:
    for key in keys:
        await kernel.store.sieve.forget_tracking(account, "duplicate", digest(key))


async def _mark(kernel: Kernel, account: int, marks: list[DuplicateMark]) -> None:
    # RFC 7352 §3.3: the entry lives :seconds from now (re-armed by :last).
    for mark in marks:
        key = digest(mark.key)
        await kernel.store.sieve.forget_tracking(account, "duplicate", key)
        await kernel.store.sieve.track(account, "duplicate", key, float(mark.seconds))


def _filings_on_error(outcome: Outcome | None, log: StructuredLogger) -> Verdict | None:
    if outcome is None:
        return None
    keep = outcome.actions[0] if outcome.actions else None
    if isinstance(keep, Keep) and keep.flags:
        return Verdict.accept(
            filings=(filing_for(keep, lambda p: log.warning("sieve-warning", problem=p)),)
        )
    return None


async def filter_delivery(
    kernel: Kernel,
    session: SessionInfo,
    envelope: Envelope,
    delivery: DeliveryTarget,
    message: bytes,
    conf: SieveConfig,
) -> Verdict | None:
    """The verdict of ``delivery``'s active script, or None without one (see module)."""
    store = kernel.store
    # RFC 8621 §8: the JMAP VacationResponse, through the vacation action's rules.
    await respond_if_away(kernel, session, envelope, delivery, message, conf)
    active = await store.sieve.active(delivery.account_id)
    if active is None:
        return None
    script, source, cached = active
    log = kernel.logger(
        "sieve",
        queue=envelope.queue_id,
        account=delivery.account,
        script=script.name,
    )
    compiled = await _compiled(kernel, script, source, cached, conf, log)
    if compiled is None:
        return None
    mailboxes = await store.mailboxes.list(delivery.account_id)
    host = StoreHost(
        store,
        delivery.account_id,
        mailboxes,
        environment=environment(kernel, session, "during"),
        global_dir=conf.global_dir,
    )
    settings = conf.settings(user_email=delivery.account)
    interpreter = Interpreter(limits=conf.limits(), settings=settings)
    sieve_envelope = SieveEnvelope(
        envelope.sender, delivery.recipient, delivery.original_recipient, session.account
    )
    outcome = await run_script(
        interpreter,
        compiled,
        message,
        sieve_envelope,
        host,
        abandoned=host.abandoned,
        limiter=limiter_of(kernel),
    )
    if outcome is None or outcome.error is not None:
        await _forget(kernel, delivery.account_id, host.recorded)
        error = "run time limit exceeded" if outcome is None else str(outcome.error)
        log.error("sieve-error", stage="run", error=error, result="kept")
        return _filings_on_error(outcome, log)
    for line in outcome.log:
        log.warning("sieve-warning", problem=line)
    return await _verdict(kernel, delivery, message, outcome, sieve_envelope, conf, log)


async def _verdict(
    kernel: Kernel,
    delivery: DeliveryTarget,
    message: bytes,
    outcome: Outcome,
    sieve_envelope: SieveEnvelope,
    conf: SieveConfig,
    log: StructuredLogger,
) -> Verdict:
    def report(problem: str) -> None:
        log.warning("sieve-warning", problem=problem)

    actions = outcome.actions
    await _mark(kernel, delivery.account_id, [a for a in actions if isinstance(a, DuplicateMark)])
    settings = conf.settings(user_email=delivery.account)
    sending = [a for a in actions if isinstance(a, SENDING)]
    aliases: list[str] = []
    if any(isinstance(a, Vacation) for a in sending):
        listed = await kernel.store.directory.aliases(delivery.account)
        aliases = [address for address, _ in listed if not address.startswith("@")]
    redirected = True
    if sending:
        problems, redirected = await send_actions(
            kernel,
            account=delivery.account_id,
            actions=actions,
            messages=outcome.messages,
            original=message,
            envelope=sieve_envelope,
            settings=settings,
            conf=conf,
            log=log,
            aliases=aliases,
        )
        for problem in problems:
            report(problem)
    reject = next((a for a in actions if isinstance(a, Reject)), None)
    if reject is not None:
        # RFC 5429 §2.1.1, §2.2: refuse at the protocol level, 550 5.7.1.
        log.info("sieve-reject", extended=reject.extended)
        return Verdict.reject(reply_text(reject.reason))
    # RFC 5293 §7: each copy with the header as it was when the copy was asked for.
    copies = [
        (filing_for(a, report), edited)
        for a, edited in zip(actions, outcome.messages, strict=False)
        if isinstance(a, Keep | FileInto)
    ]
    if not redirected and not copies:
        # A redirect could not be queued: keep a copy rather than lose the message.
        copies.append((Filing(), outcome.message))
    actions_taken = ",".join(a.name for a in actions)
    log.info("sieve-actions", actions=actions_taken)
    if not copies:
        if not any(isinstance(a, Discard | Redirect) for a in actions):
            copies.append((Filing(), outcome.message))  # nothing stored it: never lose it
        else:
            return Verdict.discard()
    filings, (adds, removes) = per_copy(copies, message, report)
    plain_keep = len(filings) == 1 and filings[0] == Filing() and isinstance(actions[-1], Keep)
    return Verdict.accept(
        add_headers=adds,
        remove_headers=removes,
        filings=None if plain_keep and not adds and not removes else tuple(filings),
    )
