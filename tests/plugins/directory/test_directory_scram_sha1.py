"""SCRAM-SHA-1 keys in the directory, on SQLite and PostgreSQL (store migration 11).

New passwords get SCRAM-SHA-1 keys beside the SCRAM-SHA-256 ones; an account whose
password was set before migration 11 gets them at its next successful password login,
and only while its password is still the one just verified. The PostgreSQL cases are
skipped without a reachable server (see ``kernel.testing.postgres``).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import argon2
import pytest
from psycopg import sql

import plugins.store_postgres.schema as pg_schema
import plugins.store_sqlite.schema as sqlite_schema
from kernel.sasl import derive_scram_keys
from kernel.store import Store
from kernel.store.interfaces import Backend
from kernel.store.records import ScramSecret
from kernel.testing.postgres import DSN, admin_connection
from plugins.store_postgres.connection import PostgresBackend
from plugins.store_sqlite.connection import SqliteBackend

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
USER = "ann@example.org"


def _sha1_migration(migrations: tuple[str, ...]) -> int:
    """The index of the migration that adds the SCRAM-SHA-1 columns."""
    [index] = [i for i, script in enumerate(migrations) if "scram_sha1_salt" in script]
    return index


class Backends:
    """Opens one kind of backend, optionally at the schema version before SCRAM-SHA-1."""

    def __init__(self, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.kind = kind
        self.path = tmp_path / "store.sqlite3"
        self.schema = f"test_{secrets.token_hex(6)}"
        self._monkeypatch = monkeypatch

    async def open(self, *, before_sha1: bool = False) -> Backend:
        module: Any = sqlite_schema if self.kind == "sqlite" else pg_schema
        full = module.MIGRATIONS
        if before_sha1:
            self._monkeypatch.setattr(module, "MIGRATIONS", full[: _sha1_migration(full)])
        try:
            if self.kind == "sqlite":
                return await SqliteBackend.open(self.path)
            return await PostgresBackend.open(DSN, schema=self.schema, max_connections=4)
        finally:
            self._monkeypatch.setattr(module, "MIGRATIONS", full)

    def execute(self, statement: str, args: tuple[object, ...]) -> None:
        """Run one SQL statement with ``?`` placeholders outside the backend."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as conn:
                conn.execute(statement, args)
            return
        with admin_connection() as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            conn.execute(statement.replace("?", "%s"), args)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
async def backends(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Backends]:
    made = Backends(request.param, tmp_path, monkeypatch)
    if made.kind == "sqlite":
        yield made
        return
    with admin_connection() as conn:  # skips the test when PostgreSQL is unreachable
        try:
            yield made
        finally:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(made.schema))
            )


@pytest.fixture
async def store(backends: Backends) -> AsyncIterator[Store]:
    backend = await backends.open()
    try:
        yield Store(backend, hasher=CHEAP)
    finally:
        await backend.aclose()


def _matches(keys: ScramSecret | None, password: str, hash_name: str) -> bool:
    assert keys is not None and keys.hash_name == hash_name
    again = derive_scram_keys(
        password, salt=keys.salt, iterations=keys.iterations, hash_name=hash_name
    )
    return (again.stored_key, again.server_key) == (keys.stored_key, keys.server_key)


async def _account(store: Store, password: str = "pencil") -> int:
    await store.directory.add_domain("example.org")
    return (await store.directory.add_account(USER, password)).id


async def _forget_sha1(store: Store, account: int) -> None:
    """Make the account look like one whose password was set before migration 11."""
    sha256 = await store.directory.scram_secret(USER)
    assert sha256 is not None

    def clear(ops: Any) -> None:
        ops.set_secret(account, ops.secret_hash(account), [sha256])

    await store.backend.write(clear)
    assert await store.directory.scram_secret(USER, "sha1") is None


async def test_directory_new_password_stores_sha1_and_sha256_keys(store: Store) -> None:
    await _account(store)
    found = {keys.hash_name: keys for keys in await store.directory.scram_secrets(USER)}
    assert set(found) == {"sha1", "sha256"}
    assert _matches(found["sha1"], "pencil", "sha1")
    assert _matches(found["sha256"], "pencil", "sha256")
    assert found["sha1"].salt != found["sha256"].salt  # each derivation has its own salt


async def test_directory_set_password_replaces_both_key_sets(store: Store) -> None:
    await _account(store)
    await store.directory.set_password(USER, "crayon")
    assert _matches(await store.directory.scram_secret(USER, "sha1"), "crayon", "sha1")
    assert _matches(await store.directory.scram_secret(USER), "crayon", "sha256")


async def test_directory_password_scram_cannot_carry_has_no_keys(store: Store) -> None:
    # RFC 5802 §2.2: an unassigned code point fails SASLprep as a stored string.
    password = "pencil\U0001f600"
    await _account(store, password)
    assert await store.directory.scram_secrets(USER) == []
    result = await store.directory.authenticate(USER, password)
    assert result is not None and result.ok
    assert await store.directory.scram_secrets(USER) == []


async def test_directory_disabled_account_has_no_scram_keys(store: Store) -> None:
    await _account(store)
    await store.directory.update(USER, enabled=False)
    assert await store.directory.scram_secrets(USER) == []
    assert await store.directory.scram_secret(USER, "sha1") is None


async def test_directory_sha1_keys_added_at_next_password_login(store: Store) -> None:
    account = await _account(store)
    sha256 = await store.directory.scram_secret(USER)
    await _forget_sha1(store, account)
    wrong = await store.directory.authenticate(USER, "crayon")
    assert wrong is not None and not wrong.ok
    assert await store.directory.scram_secret(USER, "sha1") is None
    right = await store.directory.authenticate(USER, "pencil")
    assert right is not None and right.ok
    assert _matches(await store.directory.scram_secret(USER, "sha1"), "pencil", "sha1")
    assert await store.directory.scram_secret(USER) == sha256  # untouched


async def test_directory_app_password_login_adds_no_sha1_keys(store: Store) -> None:
    account = await _account(store)
    await _forget_sha1(store, account)
    app_password = await store.directory.add_app_password(USER, "phone")
    result = await store.directory.authenticate(USER, app_password)
    assert result is not None and result.ok
    assert await store.directory.scram_secret(USER, "sha1") is None


async def test_directory_sha1_keys_not_stored_after_a_password_change(store: Store) -> None:
    account = await _account(store)
    old_hash: str = await store.backend.read(lambda ops: ops.secret_hash(account))
    await store.directory.set_password(USER, "crayon")
    stale = derive_scram_keys("pencil", hash_name="sha1")
    keys = ScramSecret(stale.salt, stale.iterations, stale.stored_key, stale.server_key, "sha1")
    stored = await store.backend.write(
        lambda ops: ops.set_scram_secret(account, keys, secret_hash=old_hash)
    )
    assert stored is False
    assert _matches(await store.directory.scram_secret(USER, "sha1"), "crayon", "sha1")


async def test_directory_migration_keeps_sha256_and_upgrades_at_login(
    backends: Backends,
) -> None:
    """A store written before migration 11: SCRAM-SHA-256 keys survive, SHA-1 keys come
    with the first password login."""
    backend = await backends.open(before_sha1=True)
    try:
        await Store(backend, hasher=CHEAP).directory.add_domain("example.org")
        account = (await Store(backend, hasher=CHEAP).directory.add_account(USER)).id
    finally:
        await backend.aclose()
    sha256 = derive_scram_keys("pencil")
    backends.execute(
        "UPDATE principals SET secret_hash = ?, scram_salt = ?, scram_iterations = ?, "
        "scram_stored_key = ?, scram_server_key = ? WHERE id = ?",
        (
            CHEAP.hash("pencil"),
            sha256.salt,
            sha256.iterations,
            sha256.stored_key,
            sha256.server_key,
            account,
        ),
    )
    backend = await backends.open()  # migrates
    try:
        directory = Store(backend, hasher=CHEAP).directory
        assert [k.hash_name for k in await directory.scram_secrets(USER)] == ["sha256"]
        assert _matches(await directory.scram_secret(USER), "pencil", "sha256")
        result = await directory.authenticate(USER, "pencil")
        assert result is not None and result.ok
        assert _matches(await directory.scram_secret(USER, "sha1"), "pencil", "sha1")
    finally:
        await backend.aclose()


def test_directory_migration_numbering_matches_on_both_backends() -> None:
    assert len(sqlite_schema.MIGRATIONS) == len(pg_schema.MIGRATIONS)
    assert _sha1_migration(sqlite_schema.MIGRATIONS) == _sha1_migration(pg_schema.MIGRATIONS)
