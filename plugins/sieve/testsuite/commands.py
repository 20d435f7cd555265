"""The ``vnd.dovecot.testsuite`` extension: the commands and tests of the suite's README §4.

Test-only: it is never in :func:`~plugins.sieve.registry.default_registry`; the runner
(:mod:`plugins.sieve.testsuite.runner`) adds it to the registry it compiles ``.svtest``
files with. Handlers reach the suite's state through the run's host
(:class:`~plugins.sieve.testsuite.state.SuiteHost`).

Implementation notes:

- ``test "name" {}`` runs its block and records the outcome; ``test_fail`` ends the
  block; ``stop`` ends the whole file without failing (README §3); a run-time error
  aborts the file.
- This module holds the block and environment commands (README §4.1-§4.3, §4.10-§4.13,
  §4.16-§4.17) and the extension record; the script and result commands are in
  :mod:`plugins.sieve.testsuite.scripts`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from plugins.sieve.compiled import Node
from plugins.sieve.errors import SieveRuntimeError
from plugins.sieve.host import Envelope
from plugins.sieve.interpreter import StopScript
from plugins.sieve.spec import ArgKind, Block, Extension, Spec, TagSpec, match_tags
from plugins.sieve.testsuite import scripts
from plugins.sieve.testsuite.executor import valid_mailbox_name
from plugins.sieve.testsuite.outcomes import (
    CAPABILITY,
    BlockOutcome,
    CheckSkipped,
    TestFailed,
    state_of,
    sync,
)
from plugins.sieve.testsuite.state import SuiteState, parse_path

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["TESTSUITE", "BlockOutcome", "CheckSkipped", "TestFailed"]

_OBJECTS = frozenset(
    {"message", "envelope.from", "envelope.to", "envelope.orig_to", "envelope.auth"}
)


def _validate_test(ctx: CompileContext, node: Node) -> None:
    if ctx.depth:
        ctx.error(node, "test blocks may only appear at the top level")


def _validate_set(ctx: CompileContext, node: Node) -> None:
    target = node.args[0]
    if isinstance(target, str) and ctx.constant(target) and target.lower() not in _OBJECTS:
        ctx.error(node, f"unknown testsuite object '{target}'")


def _validate_mailbox(ctx: CompileContext, node: Node) -> None:
    name = node.tag("folder") if node.has("folder") else node.args[0] if node.args else None
    from plugins.sieve.extensions.delivery import valid_utf8

    if isinstance(name, str) and ctx.constant(name) and not valid_utf8(name):
        ctx.error(node, f"mailbox name '{name}' is not valid UTF-8")


# -- blocks --------------------------------------------------------------------------
def _test(run: Run, node: Node) -> None:
    state = state_of(run)
    name = run.string(node.args[0])
    outcome = BlockOutcome(name, node.line)
    state.blocks.append(outcome)
    skip = state.skip_blocks.get(name)
    if skip is not None:
        outcome.status, outcome.reason = "skipped", skip
        return
    state.current = outcome
    try:
        run.execute(node.block or ())
    except TestFailed as failure:
        outcome.status, outcome.reason = "failed", str(failure)
    except CheckSkipped as skipped:
        outcome.status, outcome.reason = "skipped", str(skipped)
    except StopScript:
        raise
    except SieveRuntimeError as error:
        outcome.status, outcome.reason = "failed", f"run-time error: {error}"
        raise
    finally:
        state.current = None


def _test_fail(run: Run, node: Node) -> None:
    raise TestFailed(run.string(node.args[0]))


# -- environment ---------------------------------------------------------------------
def _test_set(run: Run, node: Node) -> None:
    state = state_of(run)
    target = run.string(node.args[0]).lower()
    value = run.string(node.args[1])
    if target == "message":
        state.set_message(value.encode("utf-8", "surrogateescape"))
    elif target == "envelope.from":
        state.envelope = _replace(state, mail_from=parse_path(value))
    elif target == "envelope.to":
        path = parse_path(value)
        state.envelope = _replace(state, rcpt_to=path, orig_rcpt=path)
    elif target == "envelope.orig_to":
        state.envelope = _replace(state, orig_rcpt=parse_path(value))
    elif target == "envelope.auth":
        state.envelope = _replace(state, auth=value)
    else:
        raise run.error(node, f"unknown testsuite object '{target}'")
    sync(run, state)


def _replace(state: SuiteState, **changes: str) -> Envelope:
    return dataclasses.replace(state.envelope, **changes)


def _test_message(run: Run, node: Node) -> bool:
    state = state_of(run)
    index = node.args[0]
    assert isinstance(index, int)
    if node.has("smtp"):
        if index >= len(state.smtp):
            return False
        mail_from, rcpt, data = state.smtp[index]
        state.set_message(data)
        state.envelope = Envelope(mail_from, rcpt, rcpt, state.envelope.auth)
    else:
        folder = run.string(node.tag("folder"))
        from plugins.sieve.extensions.delivery import valid_utf8

        if not valid_utf8(folder):
            raise TestFailed(f"invalid mailbox name '{folder}'")
        messages = state.mailboxes.get(folder)
        if messages is None or index >= len(messages):
            return False
        stored = messages[index]
        state.set_message(stored.data, stored.flags)
    sync(run, state)
    return True


def _test_message_command(run: Run, node: Node) -> None:
    if not _test_message(run, node):
        where = "smtp" if node.has("smtp") else f"folder {run.string(node.tag('folder'))}"
        raise TestFailed(f"no message {node.args[0]} in {where}")


def _test_mailbox_create(run: Run, node: Node) -> None:
    state = state_of(run)
    name = run.string(node.args[0])
    if not valid_mailbox_name(name):
        raise run.error(node, f"invalid mailbox name '{name}'")
    state.mailboxes.setdefault(name, [])


def _test_mailbox_delete(run: Run, node: Node) -> None:
    raise TestFailed("test_mailbox_delete is not implemented")


def _test_imap_metadata_set(run: Run, node: Node) -> None:
    state = state_of(run)
    entry = run.string(node.args[0]).lower()
    value = run.string(node.args[1])
    from plugins.sieve.extensions.metadata import valid_entry

    if not valid_entry(entry):
        raise run.error(node, f"invalid metadata entry '{entry}'")
    if node.has("mailbox"):
        mailbox = run.string(node.tag("mailbox"))
        if mailbox not in state.mailboxes:
            raise run.error(node, f"mailbox '{mailbox}' does not exist")
        state.mailbox_metadata[(mailbox, entry)] = value
    else:
        state.server_metadata[entry] = value


def _test_config_set(run: Run, node: Node) -> None:
    state = state_of(run)
    state.config[run.string(node.args[0])] = run.string(node.args[1])
    state.apply_config()


def _test_config_unset(run: Run, node: Node) -> None:
    state = state_of(run)
    state.config.pop(run.string(node.args[0]), None)
    state.apply_config()


def _test_config_reload(run: Run, node: Node) -> None:
    if node.has("extension"):
        name = run.string(node.tag("extension"))
        if not SuiteState.known_extension(name):
            raise TestFailed(f"unknown extension '{name}' for test_config_reload")


# -- scripts and results ----------------------------------------------------------------
def _no_op(run: Run, node: Node) -> None:
    return None


def _namespace(run: Run, name: str) -> str | None:
    if name == "path":
        return f"{state_of(run).test_dir}/"
    return ""


def _spec(name: str, *positional: ArgKind, is_test: bool = False, **options: object) -> Spec:
    return Spec(name, requires=CAPABILITY, positional=positional, is_test=is_test, **options)  # type: ignore[arg-type]


_S, _SL, _N = ArgKind.STRING, ArgKind.STRING_LIST, ArgKind.NUMBER
_MESSAGE_TAGS = (TagSpec("smtp", group="source"), TagSpec("folder", _S, group="source"))
_INDEX = TagSpec("index", _N)

TESTSUITE = Extension(
    name=CAPABILITY,
    capabilities=(CAPABILITY,),
    specs=(
        _spec("test", _S, block=Block.REQUIRED, validate=_validate_test),
        _spec("test_fail", _S),
        _spec("test_set", _S, _S, validate=_validate_set),
        _spec(
            "test_message",
            _N,
            tags=_MESSAGE_TAGS,
            validate=_validate_mailbox,
            key="test_message_command",
        ),
        _spec("test_message", _N, is_test=True, tags=_MESSAGE_TAGS, validate=_validate_mailbox),
        _spec("test_mailbox_create", _S, validate=_validate_mailbox),
        _spec("test_mailbox_delete", _S),
        _spec("test_imap_metadata_set", _S, _S, tags=(TagSpec("mailbox", _S),)),
        _spec("test_config_set", _S, _S),
        _spec("test_config_unset", _S),
        _spec("test_config_reload", tags=(TagSpec("extension", _S),)),
        _spec("test_script_compile", _S, is_test=True),
        _spec("test_script_run", is_test=True, tags=(TagSpec("append_result"),)),
        _spec("test_multiscript", _SL, is_test=True),
        _spec("test_result_execute", is_test=True),
        _spec("test_result_reset"),
        _spec("test_result_print"),
        _spec("test_message_print"),
        _spec("test_result_action", _SL, is_test=True, tags=(*match_tags(), _INDEX)),
        _spec("test_error", _SL, is_test=True, tags=(*match_tags(), _INDEX)),
        _spec("test_binary_save", _S),
        _spec("test_binary_load", _S),
    ),
    commands={
        **scripts.COMMANDS,
        "test": _test,
        "test_fail": _test_fail,
        "test_set": _test_set,
        "test_message_command": _test_message_command,
        "test_mailbox_create": _test_mailbox_create,
        "test_mailbox_delete": _test_mailbox_delete,
        "test_imap_metadata_set": _test_imap_metadata_set,
        "test_config_set": _test_config_set,
        "test_config_unset": _test_config_unset,
        "test_config_reload": _test_config_reload,
        "test_result_print": _no_op,
        "test_message_print": _no_op,
    },
    tests={
        **scripts.TESTS,
        "test_message": _test_message,
    },
    namespaces={"tst": _namespace},
)
