"""The script commands (RFC 5804 §2.5 to §2.12) over ``kernel.store.sieve``.

Implementation notes:

* Store errors become responses here and nowhere else (STYLE.md §1.6):
  ``NoSuchItem`` → NONEXISTENT, ``DuplicateUid`` → ALREADYEXISTS,
  ``PreconditionFailed`` (deleting the active script) → ACTIVE,
  ``QuotaExceeded`` → QUOTA/MAXSCRIPTS (the size is checked before the store
  is called, so the store's own size check only guards races); anything else
  the store raises is logged and answered ``NO (TRYLATER)``.
* PUTSCRIPT compiles first (in a worker thread) and stores nothing when the
  script is invalid (§2.6: "MUST NOT be stored"); the old script survives
  any failure because the store replaces it in one transaction.
* HAVESPACE (§2.5) answers from the same limits PUTSCRIPT enforces: the
  size, and the number of scripts when the name is new.
* CHECKSCRIPT (§2.12) "MUST NOT check if the script will put the current
  user over its quota limit"; its size is bounded by the literal limit only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import trio

from kernel.errors import DuplicateUid, NoSuchItem, PreconditionFailed, QuotaExceeded
from plugins.managesieve.compile import Checked, ScriptInvalid, check_script
from plugins.managesieve.proto import codes
from plugins.managesieve.proto.commands import (
    CheckScript,
    DeleteScript,
    GetScript,
    HaveSpace,
    ListScripts,
    PutScript,
    RenameScript,
    SetActive,
)
from plugins.managesieve.proto.responses import Response, literal, string_line
from plugins.sieve.runner import GRACE, limiter_of

if TYPE_CHECKING:
    from plugins.managesieve.session import SieveSession

__all__ = [
    "checkscript",
    "deletescript",
    "getscript",
    "havespace",
    "listscripts",
    "putscript",
    "renamescript",
    "setactive",
]

T = TypeVar("T")

_TRANSLATED: dict[type[Exception], Response] = {
    NoSuchItem: codes.NO_SUCH_SCRIPT,
    DuplicateUid: codes.SCRIPT_EXISTS,
    PreconditionFailed: codes.DELETE_ACTIVE,
    QuotaExceeded: codes.TOO_MANY_SCRIPTS,
}


class _Answered(Exception):
    """The store call failed and its response is queued."""


async def _store(session: SieveSession, call: Callable[[], Awaitable[T]]) -> T:
    """Run one store call; translate its failure into a queued NO and raise :class:`_Answered`."""
    try:
        return await call()
    except Exception as exc:
        for kind, response in _TRANSLATED.items():
            if isinstance(exc, kind):
                session.reply(response)
                raise _Answered from exc
        session.conn.log.error(
            "managesieve-store-unavailable", error=f"{type(exc).__name__}: {exc}"
        )
        session.reply(codes.STORE_UNAVAILABLE)
        raise _Answered from exc


def _account(session: SieveSession) -> int:
    assert session.account is not None  # the state table admits these commands only after login
    return session.account


def _max_scripts(session: SieveSession) -> int | None:
    return session.settings.max_scripts or None


async def _check(session: SieveSession, source: bytes, name: str = "") -> Checked | None:
    """Compile; queue NO with the errors and return None if invalid."""
    if not source:
        session.reply(codes.EMPTY_SCRIPT)
        return None
    limits = session.sieve_limits()
    try:
        with trio.fail_after(limits.max_run_seconds + GRACE):
            return await trio.to_thread.run_sync(
                check_script,
                source,
                limits,
                name,
                limiter=limiter_of(session.conn.kernel),
                abandon_on_cancel=True,
            )
    except ScriptInvalid as exc:
        # RFC 5804 §2.6: "SHOULD contain a specific error message giving the line number".
        session.reply(Response("NO", text=str(exc)))
    except trio.TooSlowError:
        session.conn.log.warning("managesieve-compile-timeout", size=len(source))
        session.reply(codes.COMPILE_TIMEOUT)
    return None


def _valid_reply(done: Response, checked: Checked) -> Response:
    if checked.warnings:
        # RFC 5804 §2.6: "An OK response MAY contain the WARNINGS response code."
        return Response("OK", codes.WARNINGS, text="\r\n".join(checked.warnings))
    return done


async def putscript(session: SieveSession, cmd: PutScript) -> None:
    if len(cmd.script) > session.settings.max_script_size:
        session.reply(codes.SCRIPT_TOO_LARGE)
        return
    checked = await _check(session, cmd.script, cmd.name)
    if checked is None:
        return
    account = _account(session)
    try:
        await _store(
            session,
            lambda: session.conn.kernel.store.sieve.put(
                account,
                cmd.name,
                cmd.script,
                checked.compiled,
                max_scripts=_max_scripts(session),
                max_size=session.settings.max_script_size,
            ),
        )
    except _Answered:
        return
    session.reply(_valid_reply(codes.PUT_DONE, checked))


async def checkscript(session: SieveSession, cmd: CheckScript) -> None:
    checked = await _check(session, cmd.script)
    if checked is not None:
        session.reply(_valid_reply(codes.CHECK_DONE, checked))


async def havespace(session: SieveSession, cmd: HaveSpace) -> None:
    if cmd.size > session.settings.max_script_size:
        session.reply(codes.SCRIPT_TOO_LARGE)
        return
    limit = _max_scripts(session)
    if limit is not None:
        account = _account(session)
        try:
            scripts = await _store(session, lambda: session.conn.kernel.store.sieve.list(account))
        except _Answered:
            return
        if len(scripts) >= limit and all(s.name != cmd.name for s in scripts):
            session.reply(codes.TOO_MANY_SCRIPTS)
            return
    session.reply(codes.HAVESPACE_DONE)


async def listscripts(session: SieveSession, cmd: ListScripts) -> None:
    account = _account(session)
    try:
        scripts = await _store(session, lambda: session.conn.kernel.store.sieve.list(account))
    except _Answered:
        return
    for script in scripts:
        # §2.7: "the atom ACTIVE is appended to the corresponding script name".
        session.write(string_line(script.name, b" ACTIVE" if script.is_active else b""))
    session.reply(codes.LIST_DONE)


async def setactive(session: SieveSession, cmd: SetActive) -> None:
    account = _account(session)
    # §2.8: "If the script name is the empty string ..., then any active script is disabled."
    name = cmd.name or None
    try:
        await _store(session, lambda: session.conn.kernel.store.sieve.set_active(account, name))
    except _Answered:
        return
    session.reply(codes.SETACTIVE_DONE if name is not None else codes.DEACTIVATED)


async def getscript(session: SieveSession, cmd: GetScript) -> None:
    account = _account(session)
    try:
        _, source = await _store(
            session, lambda: session.conn.kernel.store.sieve.get(account, cmd.name)
        )
    except _Answered:
        return
    # §4: response-getscript = sieve-script CRLF response-ok
    session.write(literal(source) + b"\r\n")
    session.reply(codes.GET_DONE)


async def deletescript(session: SieveSession, cmd: DeleteScript) -> None:
    account = _account(session)
    try:
        await _store(session, lambda: session.conn.kernel.store.sieve.delete(account, cmd.name))
    except _Answered:
        return
    session.reply(codes.DELETE_DONE)


async def renamescript(session: SieveSession, cmd: RenameScript) -> None:
    account = _account(session)
    try:
        await _store(
            session,
            lambda: session.conn.kernel.store.sieve.rename(account, cmd.old, cmd.new),
        )
    except _Answered:
        return
    session.reply(codes.RENAME_DONE)
