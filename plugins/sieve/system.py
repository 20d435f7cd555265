"""System scripts: administrators' Sieve scripts at the SMTP RCPT and DATA stages.

``sieve.system.rcpt`` and ``sieve.system.data`` name script files. They are compiled
when the plugin starts (a broken one fails the start, naming file, line and column)
and again on every reload (a broken one is logged and the previous compiled script
stays in force), and kept in the kernel's stash (:data:`SCRIPTS`).

What each action does at each stage (docs/sieve.md has the same table):

=====================  =====================================  ==========================
action                 RCPT (per local recipient)             DATA (once per message)
=====================  =====================================  ==========================
reject / ereject       refuses this recipient (550 5.7.1)     refuses the message (550)
addheader/deleteheader header edits of the message            header edits of every copy
fileinto "Junk"        not applicable (logged)                quarantine: copies to Junk
keep / implicit keep   accept                                 accept
other actions          not applicable (logged)                not applicable (logged)
=====================  =====================================  ==========================

At RCPT the message does not exist yet: the script sees an empty header and body and
only the envelope (``envelope :all "to"`` is the recipient being added). At DATA the
envelope ``to`` is the first recipient. A script that fails, exceeds a limit or runs
out of time is logged (``sieve-error``) and the stage goes on as if it had accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, final

import trio

from kernel import StashKey
from kernel.errors import ConfigError
from kernel.pipeline import Verdict, VerdictAction
from plugins.sieve.actions import FileInto, Keep, Reject
from plugins.sieve.errors import SieveCompileError
from plugins.sieve.host import Envelope as SieveEnvelope
from plugins.sieve.host import StaticHost
from plugins.sieve.interpreter import Interpreter
from plugins.sieve.runner import compile_source, limiter_of, run_script
from plugins.sieve.verdicts import header_edits, reply_text

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.pipeline import Envelope, SessionInfo
    from plugins.sieve.compiled import CompiledScript
    from plugins.sieve.config import SieveConfig

__all__ = ["SCRIPTS", "STAGES", "SystemScripts", "load_scripts", "run_stage_script"]

STAGES: Final = ("rcpt", "data")
_EMPTY_MESSAGE: Final = b"\r\n"


@final
@dataclass
class SystemScripts:
    """The compiled system scripts by stage, with the path each came from."""

    scripts: dict[str, tuple[str, CompiledScript]] = field(default_factory=dict)


SCRIPTS: Final = StashKey[SystemScripts]()


async def _compile(kernel: Kernel, path: str, conf: SieveConfig) -> CompiledScript:
    source = await trio.Path(path).read_bytes()
    return await compile_source(
        source, conf.limits(), name=Path(path).name, limiter=limiter_of(kernel)
    )


async def load_scripts(kernel: Kernel, conf: SieveConfig, *, strict: bool) -> None:
    """Compile the configured system scripts into the stash.

    Args:
        kernel: the kernel whose stash holds them.
        conf: the configuration now in force.
        strict: raise on a broken script (start); otherwise log it and keep the
            previously compiled one (reload).

    Raises:
        ConfigError: with ``strict``, a script that cannot be read or compiled.
    """
    log = kernel.logger("sieve")
    current = kernel.stash.get(SCRIPTS, SystemScripts())
    loaded = SystemScripts()
    for stage, path in (("rcpt", conf.system_rcpt), ("data", conf.system_data)):
        if path is None:
            continue
        try:
            loaded.scripts[stage] = (path, await _compile(kernel, path, conf))
            log.info("sieve-system-script", stage=stage, path=path)
        except (OSError, SieveCompileError, trio.TooSlowError) as error:
            problem = f"sieve.system.{stage}: {path}: {error}"
            if strict:
                raise ConfigError([problem]) from error
            log.error("sieve-system-script-failed", stage=stage, path=path, error=str(error))
            if stage in current.scripts:
                loaded.scripts[stage] = current.scripts[stage]
    kernel.stash[SCRIPTS] = loaded


async def run_stage_script(
    kernel: Kernel,
    stage: str,
    session: SessionInfo,
    envelope: Envelope,
    recipient: str,
    message: bytes,
    conf: SieveConfig,
) -> Verdict | None:
    """The verdict of the ``stage`` system script, or None when there is none."""
    from plugins.sieve.delivery import environment

    loaded = kernel.stash.get(SCRIPTS, SystemScripts()).scripts.get(stage)
    if loaded is None:
        return None
    path, script = loaded
    log = kernel.logger("sieve", queue=envelope.queue_id, stage=stage, script=path)
    host = StaticHost(mailboxes=set(), items=environment(kernel, session, "pre"))
    interpreter = Interpreter(limits=conf.limits(), settings=conf.settings())
    sieve_envelope = SieveEnvelope(envelope.sender, recipient, None, session.account)
    outcome = await run_script(
        interpreter,
        script,
        message or _EMPTY_MESSAGE,
        sieve_envelope,
        host,
        limiter=limiter_of(kernel),
    )
    if outcome is None or outcome.error is not None:
        error = "run time limit exceeded" if outcome is None else str(outcome.error)
        log.error("sieve-error", error=error, result="accepted")
        return None

    def report(problem: str) -> None:
        log.warning("sieve-warning", problem=problem)

    quarantine = False
    for action in outcome.actions:
        if isinstance(action, Reject):
            log.info("sieve-reject", recipient=recipient)
            return Verdict.reject(reply_text(action.reason))
        if isinstance(action, Keep):
            continue
        junk = isinstance(action, FileInto) and (
            action.mailbox.lower() == "junk" or (action.special_use or "").lower() == "\\junk"
        )
        if stage == "data" and junk:
            quarantine = True
        else:
            log.info("sieve-not-applicable", action=action.name)
    if stage == "data":
        adds, removes = header_edits(message, outcome.message, report)
    else:
        # At RCPT only additions apply (there is no header yet to delete from).
        adds, removes = header_edits(_EMPTY_MESSAGE, outcome.message, report)[0], ()
    if quarantine:
        return Verdict(
            VerdictAction.QUARANTINE,
            text="filed as junk by a system Sieve script",
            add_headers=adds,
            remove_headers=removes,
        )
    if adds or removes:
        return Verdict.accept(add_headers=adds, remove_headers=removes)
    return None
