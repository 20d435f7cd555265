"""The kill -9 durability harness: a child that appends, and the parent's checks.

Run as a script, this is the child: it opens the store, creates the account
(with its default mailboxes) if it is missing, then appends small unique
messages from :data:`TASKS` concurrent trio tasks forever, printing one
``ack EMAIL UID MODSEQ TOKEN`` line, flushed, after each append returned::

    python durability_child.py ROUND sqlite PATH
    python durability_child.py ROUND postgres DSN SCHEMA

Imported, it gives the parent :func:`run_round` (start a child, read acks until
a given number, SIGKILL it, collect every ack it printed) and :func:`check`
(reopen the store and check what the acks promised, plus the change log,
UIDs and quota). ``store_sqlite/test_durability.py`` and
``store_postgres/test_postgres_durability.py`` use both.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import trio

HERE = Path(__file__).resolve()
ROOT = HERE.parents[3]
ACCOUNT = "ann@example.org"
TASKS = 20


def message(token: str) -> bytes:
    """The message appended for ``token``; the parent rebuilds it to compare bytes."""
    return (
        f"From: Bob <bob@example.net>\r\nTo: {ACCOUNT}\r\nSubject: durability {token}\r\n"
        f"Message-ID: <{token}@example.net>\r\n\r\nbody of {token}\r\n"
    ).encode()


# ---- the child -------------------------------------------------------------


async def _open(kind: str, target: list[str]):  # type: ignore[no-untyped-def]
    if kind == "sqlite":
        from plugins.store_sqlite.connection import SqliteBackend

        return await SqliteBackend.open(Path(target[0]))
    from plugins.store_postgres.connection import PostgresBackend

    return await PostgresBackend.open(target[0], schema=target[1], max_connections=TASKS)


async def _child(round_no: int, kind: str, target: list[str]) -> None:
    from kernel.store import Store

    backend = await _open(kind, target)
    store = Store(backend)
    principal = await store.directory.principal(ACCOUNT)
    if principal is None:
        await store.directory.add_domain("example.org")
        principal = await store.directory.add_account(ACCOUNT, None)
    inbox = next(m.id for m in await store.mailboxes.list(principal.id) if m.role == "inbox")

    async def appender(task: int) -> None:
        for n in itertools.count():
            token = f"r{round_no}t{task}n{n}"
            result = await store.emails.append(principal.id, message(token), [inbox])
            sys.stdout.write(f"ack {result.email} {result.uids[inbox]} {result.modseq} {token}\n")
            sys.stdout.flush()

    async with trio.open_nursery() as nursery:
        for task in range(TASKS):
            nursery.start_soon(appender, task)


# ---- the parent ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Ack:
    email: int
    uid: int
    modseq: int
    token: str


def run_round(
    round_no: int, target: list[str], kill_after: int, stderr: Path, timeout: float = 60.0
) -> list[Ack]:
    """Start a child, SIGKILL it once ``kill_after`` acks arrived; every ack it printed.

    Waits for lines (a condition), never for time; ``timeout`` only bounds a
    child that stopped printing.
    """
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(HERE), str(round_no), *target],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *_pythonpath()])},
        )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    acks: list[Ack] = []
    try:
        while len(acks) < kill_after:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no ack for {timeout}s: {stderr.read_text()}") from None
            if line is None:
                raise AssertionError(f"the child exited early: {stderr.read_text()}")
            acks.append(_parse(line))
    finally:
        proc.kill()  # SIGKILL: no cleanup, no final commit, no flush
        proc.wait()
    reader.join()  # the pipe holds what the child printed before it died: acks too
    while (line := lines.get()) is not None:
        acks.append(_parse(line))
    return acks


def _pythonpath() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def _parse(line: str) -> Ack:
    word, email, uid, modseq, token = line.split()
    assert word == "ack", line
    return Ack(int(email), int(uid), int(modseq), token)


async def check(store, acked: list[Ack]) -> int:  # type: ignore[no-untyped-def]
    """Check the reopened store against every ack so far; returns how many emails it holds."""
    from kernel.store.mailboxes import changes

    principal = await store.directory.principal(ACCOUNT)
    assert principal is not None
    account = principal.id
    inbox = next(m for m in await store.mailboxes.list(account) if m.role == "inbox")
    members = await store.emails.in_mailbox(account, inbox.id)
    uids = [m.uid for m in members]
    by_email = {m.email: m.uid for m in members}
    # UIDs are unique, ascending and below UIDNEXT; every email is in INBOX once.
    assert uids == sorted(set(uids))
    assert not uids or uids[-1] < inbox.uidnext
    assert len(by_email) == len(members)

    # Every acknowledged append survived, with its bytes and its UID.
    state = (await store.mailboxes.changes(account, 0)).state
    assert len({ack.modseq for ack in acked}) == len(acked)
    for ack in acked:
        assert by_email.get(ack.email) == ack.uid, ack
        assert await store.emails.raw(account, ack.email) == message(ack.token)
        assert ack.modseq <= state, ack

    # The change log explains exactly the emails present, all created, none lost.
    log = await store.backend.read(lambda ops: changes(ops, account, "email", 0))
    assert not log.cannot_calculate
    assert set(log.created) == set(by_email)
    assert log.destroyed == ()
    assert log.state == state
    mailboxes = await store.mailboxes.changes(account, 0)
    assert inbox.id in mailboxes.created
    assert inbox.modseq <= state

    # Quota: the account's use is the sum of its emails' sizes.
    emails = [await store.emails.get(account, email) for email in by_email]
    assert all(e.modseq <= state and e.mailboxes == {inbox.id: by_email[e.id]} for e in emails)
    assert principal.used == sum(e.row.size for e in emails)
    return len(emails)


if __name__ == "__main__":
    trio.run(_child, int(sys.argv[1]), sys.argv[2], sys.argv[3:])
