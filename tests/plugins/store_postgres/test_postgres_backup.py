"""``stalwart-kernel backup`` / ``restore`` on the PostgreSQL store (pg_dump, pg_restore).

Each test uses a fresh schema in the database of ``STALWART_TEST_POSTGRES_DSN``;
skipped without a server (failed under CI), and the tool tests without the
PostgreSQL client tools.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from psycopg import sql

from kernel.cli import main
from kernel.config.loader import ENV_CONFIG_DIR
from kernel.store import Store
from kernel.testing.postgres import DSN, admin_connection
from plugins.store_postgres.connection import PostgresBackend

TOOLS = shutil.which("pg_dump") is not None and shutil.which("pg_restore") is not None
needs_tools = pytest.mark.skipif(not TOOLS, reason="pg_dump/pg_restore are not installed")


def _drop(schema: str) -> None:
    with admin_connection() as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def schema(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A fresh schema, and a site configuration (``tmp_path/site``) selecting it."""
    monkeypatch.delenv(ENV_CONFIG_DIR, raising=False)
    monkeypatch.chdir(tmp_path)
    name = f"test_{secrets.token_hex(6)}"
    admin_connection().close()
    site = tmp_path / "site"
    site.mkdir()
    (site / "50-store.yaml").write_text(
        "store:\n  backend: postgres\n"
        f"store_postgres:\n  dsn: {json.dumps(DSN)}\n  schema: {name}\n"
    )
    try:
        yield name
    finally:
        _drop(name)


async def cli(tmp_path: Path, *argv: str) -> int:
    args = ["--config", str(tmp_path / "site"), "--data", str(tmp_path / "var"), *argv]
    return await trio.to_thread.run_sync(main, args)


async def _fill(schema: str, names: list[str]) -> None:
    backend = await PostgresBackend.open(DSN, schema=schema)
    try:
        store = Store(backend)
        if not await store.directory.is_local_domain("example.org"):
            await store.directory.add_domain("example.org")
        for name in names:
            account = await store.directory.add_account(name, None)
            inbox = next(m.id for m in await store.mailboxes.list(account.id) if m.role == "inbox")
            raw = f"Subject: hi {name}\r\n\r\nbody\r\n".encode()
            await store.emails.append(account.id, raw, [inbox])
    finally:
        await backend.aclose()


async def _accounts(schema: str) -> dict[str, int]:
    backend = await PostgresBackend.open(DSN, schema=schema)
    try:
        store = Store(backend)
        return {p.name: p.used for p in await store.directory.principals()}
    finally:
        await backend.aclose()


@needs_tools
async def test_postgres_backup_and_restore(
    schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _fill(schema, ["ann@example.org"])
    bk = tmp_path / "bk"
    assert await cli(tmp_path, "backup", str(bk)) == 0
    manifest = json.loads((bk / "manifest.json").read_text())
    assert manifest["store"]["backend"] == "postgres"
    assert manifest["store"]["schema"] == schema
    assert list(manifest["store"]["files"]) == ["store.pgdump"]
    before = await _accounts(schema)
    assert before["ann@example.org"] > 0

    await _fill(schema, ["bob@example.org"])
    capsys.readouterr()
    assert await cli(tmp_path, "restore", str(bk)) == 1
    assert "already holds a store" in capsys.readouterr().err
    assert await cli(tmp_path, "restore", str(bk), "--force") == 0
    assert await _accounts(schema) == before  # bob is gone: the backup's state

    _drop(schema)  # into an empty database: the schema is created
    assert await cli(tmp_path, "restore", str(bk)) == 0
    assert await _accounts(schema) == before
    await _fill(schema, ["carol@example.org"])  # ids and sequences carry on


async def test_postgres_without_tools_prints_guidance(
    schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await _fill(schema, [])
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert await cli(tmp_path, "backup", str(tmp_path / "bk")) == 1
    err = capsys.readouterr().err
    assert "pg_dump is not installed" in err
    assert f'pg_dump --format=custom --schema="{schema}"' in err
    assert "Traceback" not in err
