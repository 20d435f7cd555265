"""The store contract suite against the PostgreSQL backend, plus PostgreSQL specifics.

Each test gets a fresh schema with a random name in the database named by
``STALWART_TEST_POSTGRES_DSN`` (default: ``test`` on 127.0.0.1 as ``postgres``),
dropped afterwards. Without a reachable server the tests are skipped, except
under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import argon2
import psycopg
import pytest
import trio
from psycopg import sql

from kernel.errors import StoreError
from kernel.store import Store
from kernel.testing.postgres import DSN, admin_connection
from kernel.testing.store_suite import *  # noqa: F403
from kernel.testing.store_suite_identities import *  # noqa: F403
from kernel.testing.store_suite_maildrop import *  # noqa: F403
from kernel.testing.store_suite_query import *  # noqa: F403
from kernel.testing.store_suite_queue import *  # noqa: F403
from kernel.testing.store_suite_quota_acl import *  # noqa: F403
from kernel.testing.store_suite_sieve import *  # noqa: F403
from kernel.testing.store_suite_vacation import *  # noqa: F403
from plugins.store_postgres.connection import PostgresBackend
from plugins.store_postgres.schema import MIGRATIONS
from plugins.store_postgres.write import PostgresWriteOps

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def schema() -> Iterator[str]:
    """A fresh schema name; the schema is dropped afterwards."""
    name = f"test_{secrets.token_hex(6)}"
    with admin_connection() as conn:
        try:
            yield name
        finally:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
async def backend(schema: str) -> AsyncIterator[PostgresBackend]:
    backend = await PostgresBackend.open(DSN, schema=schema, max_connections=8)
    try:
        yield backend
    finally:
        await backend.aclose()


@pytest.fixture
async def store(backend: PostgresBackend) -> AsyncIterator[Store]:
    yield Store(backend, hasher=CHEAP)


async def test_postgres_refuses_newer_schema(schema: str) -> None:
    backend = await PostgresBackend.open(DSN, schema=schema)
    await backend.aclose()
    with admin_connection() as conn:
        conn.execute(
            sql.SQL("UPDATE {}.schema_version SET version = %s").format(sql.Identifier(schema)),
            (len(MIGRATIONS) + 1,),
        )
    with pytest.raises(StoreError, match="newer than this server"):
        await PostgresBackend.open(DSN, schema=schema)


async def test_postgres_concurrent_open_migrates_once(schema: str) -> None:
    backends: list[PostgresBackend] = []

    async def open_one() -> None:
        backends.append(await PostgresBackend.open(DSN, schema=schema))

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(open_one)
    for backend in backends:
        await backend.aclose()
    with admin_connection() as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*), max(version) FROM {}.schema_version").format(
                sql.Identifier(schema)
            )
        ).fetchone()
    assert row == (1, len(MIGRATIONS))


async def test_postgres_unreachable_server_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"cannot use PostgreSQL at 127\.0\.0\.1:1/x") as info:
        await PostgresBackend.open("postgresql://u:secret@127.0.0.1:1/x", connect_timeout=2)
    assert "secret" not in str(info.value)  # the DSN's password is never echoed


async def test_postgres_two_backends_share_one_schema(store: Store, schema: str) -> None:
    # What a cluster needs: a write on one node is visible at once on the other.
    other = await PostgresBackend.open(DSN, schema=schema)
    try:
        there = Store(other, hasher=CHEAP)
        await store.directory.add_domain("example.org")
        assert await there.directory.is_local_domain("example.org")
        ann = await there.directory.add_account("ann@example.org", "pw")
        assert (await store.directory.authenticate("ann@example.org", "pw")).ok
        box = await store.mailboxes.create(ann.id, "Shared")
        assert (await there.mailboxes.get(ann.id, box.id)).name == "Shared"
        assert (await there.mailboxes.changes(ann.id, 0)).state == box.modseq
    finally:
        await other.aclose()


async def test_postgres_concurrent_bump_modseq_has_no_gaps(
    backend: PostgresBackend, store: Store
) -> None:
    await store.directory.add_domain("example.org")
    account = await store.directory.add_account("team@example.org", None, kind="group")
    assert await backend.read(lambda ops: ops.current_modseq(account.id)) == 0  # no mailboxes
    seen: list[int] = []

    async def bump() -> None:
        seen.append(await backend.write(lambda ops: ops.bump_modseq(account.id)))

    async with trio.open_nursery() as nursery:
        for _ in range(50):
            nursery.start_soon(bump)
    assert sorted(seen) == list(range(1, 51))
    assert await backend.read(lambda ops: ops.current_modseq(account.id)) == 50


async def test_postgres_read_is_one_snapshot(backend: PostgresBackend) -> None:
    def read_twice(ops):  # type: ignore[no-untyped-def]
        before = ops.domains()
        trio.from_thread.run(backend.write, lambda w: w.insert_domain("late.example", 0))
        return before, ops.domains()

    before, after = await backend.read(read_twice)
    assert before == after == []
    assert [d.name for d in await backend.read(lambda ops: ops.domains())] == ["late.example"]


async def test_postgres_read_is_read_only(backend: PostgresBackend) -> None:
    # A read gets no write operations, and its transaction refuses writes anyway.
    def write_anyway(ops):  # type: ignore[no-untyped-def]
        assert not hasattr(ops, "insert_domain")
        PostgresWriteOps(ops._conn).insert_domain("x.example", 0)

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        await backend.read(write_anyway)


async def test_postgres_failed_write_rolls_back(backend: PostgresBackend) -> None:
    def fail(ops):  # type: ignore[no-untyped-def]
        ops.insert_domain("gone.example", 0)
        raise KeyError("boom")

    with pytest.raises(KeyError):
        await backend.write(fail)
    assert await backend.read(lambda ops: ops.domains()) == []


async def test_postgres_duplicate_does_not_abort_the_transaction(backend: PostgresBackend) -> None:
    # As on SQLite, a write function may catch DuplicateUid and go on.
    from kernel.errors import DuplicateUid

    def twice(ops):  # type: ignore[no-untyped-def]
        ops.insert_domain("a.example", 0)
        with pytest.raises(DuplicateUid):
            ops.insert_domain("a.example", 0)
        ops.insert_domain("b.example", 0)
        owner = ops.insert_principal("individual", "owner", "user", 0, "", 0)
        first = ops.insert_mailbox(owner, None, "A", None, 0, True, 1, 1)
        second = ops.insert_mailbox(owner, None, "B", None, 0, True, 1, 1)
        with pytest.raises(DuplicateUid):
            ops.update_mailbox(second, name="A")  # a clashing rename, in a savepoint
        ops.update_mailbox(first, name="C")

    await backend.write(twice)
    assert [d.name for d in await backend.read(lambda ops: ops.domains())] == [
        "a.example",
        "b.example",
    ]


async def test_postgres_write_retries_serialization_failures(backend: PostgresBackend) -> None:
    attempts = []

    def flaky(ops):  # type: ignore[no-untyped-def]
        attempts.append(1)
        ops.insert_domain(f"try{len(attempts)}.example", 0)
        if len(attempts) < 3:
            raise psycopg.errors.SerializationFailure("simulated")
        return len(attempts)

    assert await backend.write(flaky) == 3
    assert [d.name for d in await backend.read(lambda ops: ops.domains())] == ["try3.example"]
    assert backend.statistics.retries == 2

    def always(ops):  # type: ignore[no-untyped-def]
        raise psycopg.errors.DeadlockDetected("simulated")

    with pytest.raises(psycopg.errors.DeadlockDetected):
        await backend.write(always)


async def test_postgres_write_is_shielded_from_cancellation(backend: PostgresBackend) -> None:
    import time

    def slow(ops):  # type: ignore[no-untyped-def]
        time.sleep(0.2)
        ops.insert_domain("slow.example", 0)

    committed = False
    with trio.move_on_after(0.01) as scope:
        await backend.write(slow)
        committed = True  # the caller learns the outcome before the cancellation lands
        await trio.sleep(0)
    assert scope.cancelled_caught and committed
    assert [d.name for d in await backend.read(lambda ops: ops.domains())] == ["slow.example"]


async def test_postgres_account_and_alias_cannot_share_an_address(store: Store) -> None:
    # Concurrent writers could both pass the domain API's check; the backend rechecks.
    from kernel.errors import DuplicateUid

    d = store.directory
    await d.add_domain("example.org")
    await d.add_account("ann@example.org", "pw")
    results: list[str] = []

    async def account() -> None:
        try:
            await d.add_account("x@example.org", None, kind="group")
            results.append("account")
        except DuplicateUid:
            results.append("refused")

    async def alias() -> None:
        try:
            await d.add_alias("x@example.org", "ann@example.org")
            results.append("alias")
        except DuplicateUid:
            results.append("refused")

    for _ in range(5):
        results.clear()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(account)
            nursery.start_soon(alias)
        assert sorted(results) in (["account", "refused"], ["alias", "refused"])
        if "account" in results:
            await d.delete_account("x@example.org")
        else:
            await d.delete_alias("x@example.org")


async def test_postgres_role_owning_only_its_schema_can_run(schema: str) -> None:
    # A least-privileged deployment: the role may not create schemas, only use its own.
    role = f"stalwart_{secrets.token_hex(4)}"
    with admin_connection() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        try:
            conn.execute(
                sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                    sql.Identifier(schema), sql.Identifier(role)
                )
            )
            dsn = psycopg.conninfo.make_conninfo(DSN, user=role)
            backend = await PostgresBackend.open(dsn, schema=schema)
            try:
                await Store(backend).directory.add_domain("example.org")
            finally:
                await backend.aclose()
        finally:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


async def test_postgres_email_ops_keep_the_transaction_usable(
    backend: PostgresBackend, store: Store
) -> None:
    # Duplicates are reported without aborting the transaction, as on SQLite.
    from kernel.errors import DuplicateUid, NoSuchItem
    from kernel.store.mail_records import EmailRow, Membership

    await store.directory.add_domain("example.org")
    ann = (await store.directory.add_account("ann@example.org", None)).id
    inbox = next(m.id for m in await store.mailboxes.list(ann) if m.role == "inbox")
    blob = "ab" * 32

    def row(modseq: int) -> EmailRow:
        return EmailRow(ann, blob, 0, 1.0, 4, None, "a@x", "", "", "", False, "", "{}", modseq)

    def write(ops):  # type: ignore[no-untyped-def]
        ops.put_blob(blob, b"data", 0, 4)
        ops.put_blob(blob, b"data", 0, 4)
        first, second = ops.insert_email(row(1)), ops.insert_email(row(1))
        uid = ops.take_uid(inbox, 1, (1, 4, 0, 0, 0))
        ops.insert_membership(Membership(inbox, uid, first, 1))
        with pytest.raises(DuplicateUid):
            ops.insert_membership(Membership(inbox, uid + 1, first, 1))  # same email again
        with pytest.raises(DuplicateUid):
            ops.insert_membership(Membership(inbox, uid, second, 1))  # same UID again
        with pytest.raises(NoSuchItem):
            ops.take_uid(-1, 1, (1, 4, 0, 0, 0))
        assert ops.add_keyword(first, "$seen") and not ops.add_keyword(first, "$seen")
        ops.add_thread_refs(ann, first, ["a@x", "a@x", "b@x"])
        ops.add_used(ann, -100)
        return first, second

    first, second = await backend.write(write)

    def read(ops):  # type: ignore[no-untyped-def]
        return (
            ops.mailbox_members(inbox),
            ops.keywords(first),
            ops.threads_for(ann, ["a@x", "b@x", "c@x"]),
            ops.principal_by_id(ann).used,
            ops.mailbox(inbox).uidnext,
        )

    assert await backend.read(read) == (
        [Membership(inbox, 1, first, 1)],
        frozenset({"$seen"}),
        [first],
        0,
        2,
    )

    def release(ops):  # type: ignore[no-untyped-def]
        ops.delete_email(first)
        ops.release_blob(blob)
        assert ops.blob(blob) == b"data"  # second still holds a reference
        ops.delete_email(second)
        ops.release_blob(blob)

    await backend.write(release)
    assert await backend.read(lambda ops: ops.blob(blob)) is None


async def test_postgres_accounts_share_blobs_concurrently(store: Store) -> None:
    # Blobs are shared across accounts, whose writes run in parallel on PostgreSQL:
    # the reference count must come out right however appends and expunges interleave.
    d = store.directory
    await d.add_domain("example.org")
    accounts = [(await d.add_account(f"u{i}@example.org", None)).id for i in range(4)]
    inboxes = {
        a: next(m.id for m in await store.mailboxes.list(a) if m.role == "inbox") for a in accounts
    }
    raws = [f"Subject: shared {i}\r\n\r\nbody\r\n".encode() for i in range(2)]
    appended: dict[int, list[int]] = {a: [] for a in accounts}

    async def deliver(account: int) -> None:
        for _ in range(5):
            for raw in raws:
                result = await store.emails.append(account, raw, [inboxes[account]])
                appended[account].append(result.email)

    async def expunge(account: int) -> None:
        emails = appended[account]
        order = emails if account % 2 else emails[::-1]  # opposite orders: deadlocks retried
        await store.emails.remove(account, inboxes[account], order)

    async with trio.open_nursery() as nursery:
        for account in accounts:
            nursery.start_soon(deliver, account)
    async with trio.open_nursery() as nursery:
        for account in accounts[1:]:
            nursery.start_soon(expunge, account)
    survivor = accounts[0]
    assert await store.emails.raw(survivor, appended[survivor][0]) == raws[0]
    await expunge(survivor)
    refs = await store.backend.read(
        lambda ops: ops._conn.execute("SELECT count(*) FROM blobs").fetchone()[0]
    )
    assert refs == 0
