"""The trigram index in its own file, filled by the indexer thread off the write path."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import argon2
import trio

from kernel.store import Store
from kernel.store.filters import Contains, Not
from plugins.store_sqlite.connection import SqliteBackend
from plugins.store_sqlite.search_index import INDEXED_COLUMNS, fts_table, search_path

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def message(n: int, word: str) -> bytes:
    return (
        f"From: Sender {n} <s{n}@example.net>\r\nSubject: note {n}\r\n\r\n"
        f"The body of message {n} mentions {word}.\r\n"
    ).encode()


async def open_store(path: Path) -> tuple[SqliteBackend, Store, int, int]:
    backend = await SqliteBackend.open(path)
    store = Store(backend, hasher=CHEAP)
    if await store.directory.principal("ann@example.org") is None:
        await store.directory.add_domain("example.org")
        await store.directory.add_account("ann@example.org", "pw")
    account = (await store.directory.principal("ann@example.org")).id  # type: ignore[union-attr]
    inbox = (await store.mailboxes.list(account))[0].id
    return backend, store, account, inbox


def indexed(path: Path) -> tuple[int, set[int]]:
    with sqlite3.connect(search_path(path)) as conn:
        (upto,) = conn.execute("SELECT value FROM state WHERE key = 'upto'").fetchone()
        tables = " UNION ".join(f"SELECT rowid FROM {fts_table(c)}" for c in INDEXED_COLUMNS)
        rows = {row[0] for row in conn.execute(tables)}
    return upto, rows


async def caught_up(backend: SqliteBackend) -> None:
    assert await trio.to_thread.run_sync(backend.search.wait_caught_up, 30.0)


async def test_search_index_fills_in_background_and_searches_stay_exact(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    backend, store, account, inbox = await open_store(path)
    try:
        words = ["pelican", "walrus", "pelican", "heron"]
        ids = [
            (await store.emails.append(account, message(n, w), [inbox])).email
            for n, w in enumerate(words)
        ]
        # Exact whether or not the indexer has run yet...
        found = await store.emails.search(account, inbox, Contains("body", "pelican"))
        assert [email for _, email in found] == [ids[0], ids[2]]
        await caught_up(backend)
        upto, rows = indexed(path)
        assert upto == ids[-1] and rows == set(ids)
        # ...and after: the index answers for the indexed ones, the tail is scanned.
        later = (await store.emails.append(account, message(9, "pelican"), [inbox])).email
        found = await store.emails.search(account, inbox, Contains("body", "pelican"))
        assert [email for _, email in found] == [ids[0], ids[2], later]
        found = await store.emails.search(account, inbox, Not(Contains("body", "pelican")))
        assert [email for _, email in found] == [ids[1], ids[3]]
        # A false trigram candidate ("pel" "eli" "lic" "ica" "can" all present) is
        # dropped by the exact check.
        assert await store.emails.search(account, inbox, Contains("body", "pelicant")) == []
    finally:
        await backend.aclose()


async def test_search_index_deleted_emails_never_match_and_are_purged(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    backend, store, account, inbox = await open_store(path)
    try:
        first = (await store.emails.append(account, message(1, "osprey"), [inbox])).email
        second = (await store.emails.append(account, message(2, "osprey"), [inbox])).email
        await caught_up(backend)
        await store.emails.destroy(account, [first])
        found = await store.emails.search(account, inbox, Contains("body", "osprey"))
        assert [email for _, email in found] == [second]
        assert indexed(path)[1] == {first, second}  # a stale row, harmless
        await trio.to_thread.run_sync(backend.search.purge)
        assert indexed(path)[1] == {second}
    finally:
        await backend.aclose()


async def test_search_index_of_another_store_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    backend, store, account, inbox = await open_store(path)
    try:
        for n in range(5):
            await store.emails.append(account, message(n, "kestrel"), [inbox])
        await caught_up(backend)
    finally:
        await backend.aclose()
    # A different store (say, restored from an older backup) beside the old index.
    for leftover in tmp_path.glob("store.sqlite3*"):
        leftover.unlink()
    assert indexed(path)[0] == 5
    backend, store, account, inbox = await open_store(path)
    try:
        only = (await store.emails.append(account, message(1, "kestrel"), [inbox])).email
        await caught_up(backend)
        assert indexed(path) == (only, {only})
        found = await store.emails.search(account, inbox, Contains("body", "kestrel"))
        assert [email for _, email in found] == [only]
    finally:
        await backend.aclose()


async def test_search_index_of_an_older_format_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    backend, store, account, inbox = await open_store(path)
    try:
        ids = [
            (await store.emails.append(account, message(n, "plover"), [inbox])).email
            for n in range(3)
        ]
        await caught_up(backend)
    finally:
        await backend.aclose()
    # Format 1 held every column in one table; its file is replaced, not patched.
    search = search_path(path)
    for stale in tmp_path.glob(search.name + "*"):
        stale.unlink()
    with sqlite3.connect(search) as conn:
        conn.executescript(
            "CREATE VIRTUAL TABLE email_fts USING fts5(body, tokenize = 'trigram');"
            "CREATE TABLE state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
            f"INSERT INTO state VALUES ('upto', {ids[-1]}), ('format', 1);"
        )
    backend, store, account, inbox = await open_store(path)
    try:
        await caught_up(backend)
        assert indexed(path) == (ids[-1], set(ids))
        with sqlite3.connect(search) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
        assert "email_fts" not in names
        found = await store.emails.search(account, inbox, Contains("body", "plover"))
        assert [email for _, email in found] == ids
    finally:
        await backend.aclose()
