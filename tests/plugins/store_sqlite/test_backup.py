"""``stalwart-kernel backup`` / ``restore`` on the SQLite store (see kernel/backup.py).

The backup runs while the test holds the store open and keeps appending, as a
running server would; the restored copy must be one consistent snapshot that
holds at least everything appended before the backup began.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from durability_child import ACCOUNT, Ack, check, message

from kernel.cli import main
from kernel.config.loader import ENV_CONFIG_DIR
from kernel.store import Store
from plugins.store_sqlite.connection import SqliteBackend

ROOT = Path(__file__).resolve().parents[3]
BLOB = "ab/abcdef0123"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The packaged configuration only (store.backend: sqlite), from a scratch directory."""
    monkeypatch.delenv(ENV_CONFIG_DIR, raising=False)
    monkeypatch.chdir(tmp_path)


async def cli(*argv: str) -> int:
    """``stalwart-kernel ARGV`` in-process (its own trio run, in a worker thread)."""
    return await trio.to_thread.run_sync(main, list(argv))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """The store of ``tmp_path/var`` (what a server there would open), with a blob file."""
    data = tmp_path / "var"
    blob = data / "blobs" / BLOB
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"blob bytes")
    (data / "blobs" / "tmp").mkdir()
    (data / "blobs" / "tmp" / "put-123").write_bytes(b"half-written")  # never copied
    backend = await SqliteBackend.open(data / "store.sqlite3")
    try:
        yield Store(backend)
    finally:
        await backend.aclose()


async def append(store: Store, token: str) -> Ack:
    principal = await store.directory.principal(ACCOUNT)
    if principal is None:
        await store.directory.add_domain("example.org")
        principal = await store.directory.add_account(ACCOUNT, None)
    inbox = next(m.id for m in await store.mailboxes.list(principal.id) if m.role == "inbox")
    result = await store.emails.append(principal.id, message(token), [inbox], keywords=["$seen"])
    return Ack(result.email, result.uids[inbox], result.modseq, token)


async def open_check(data: Path, acked: list[Ack]) -> int:
    backend = await SqliteBackend.open(data / "store.sqlite3")
    try:
        return await check(Store(backend), acked)
    finally:
        await backend.aclose()


def backup_process(data: Path, dest: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV_CONFIG_DIR}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "kernel.cli", "--data", str(data), "backup", str(dest)],
        capture_output=True,
        text=True,
        env=env,
        cwd=data.parent,
        timeout=60,
    )


async def test_backup_while_writing_then_restore_elsewhere(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = [await append(store, f"before{i}") for i in range(20)]
    backup_done = trio.Event()
    during: list[Ack] = []

    async def keep_writing() -> None:
        n = 0
        while not backup_done.is_set():
            during.append(await append(store, f"during{n}"))
            n += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(keep_writing)
        # Another process, as against a running server.
        result = await trio.to_thread.run_sync(backup_process, tmp_path / "var", tmp_path / "bk")
        backup_done.set()
    assert result.returncode == 0, result.stderr
    assert "backed up the sqlite store" in result.stdout
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["store"]["backend"] == "sqlite"
    assert manifest["blobs"] == {"files": 1, "bytes": 10, "vanished": 0}
    assert not (tmp_path / "bk" / "store.sqlite3-wal").exists()  # one self-contained file

    fresh = tmp_path / "fresh"
    assert await cli("--data", str(fresh), "restore", str(tmp_path / "bk")) == 0
    assert "restored the sqlite store" in capsys.readouterr().out
    assert (fresh / "blobs" / BLOB).read_bytes() == b"blob bytes"
    assert not (tmp_path / "bk" / "blobs" / "tmp").exists()
    present = await open_check(fresh, before)  # a consistent snapshot...
    assert len(before) <= present <= len(before) + len(during)  # ...taken during the writes


async def test_restore_refuses_to_overwrite(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, bk = tmp_path / "var", tmp_path / "bk"
    kept = [await append(store, "kept")]
    assert await cli("--data", str(data), "backup", str(bk)) == 0
    later = await append(store, "later")

    assert await cli("--data", str(data), "restore", str(bk)) == 1
    assert "store.sqlite3 already exists: use --force" in capsys.readouterr().err
    # Forced, but the store is open (as by a running server): still refused.
    assert await cli("--data", str(data), "restore", str(bk), "--force") == 1
    assert "is in use (is the server running?)" in capsys.readouterr().err
    account = await store.directory.principal(ACCOUNT)
    assert await store.emails.raw(account.id, later.email) == message("later")

    # A store nothing holds open (here a damaged one) is replaced when forced.
    other = tmp_path / "other"
    other.mkdir()
    (other / "store.sqlite3").write_bytes(b"not a database" * 100)
    assert await cli("--data", str(other), "restore", str(bk)) == 1
    assert "already exists" in capsys.readouterr().err
    assert await cli("--data", str(other), "restore", str(bk), "--force") == 0
    assert (other / "blobs" / BLOB).read_bytes() == b"blob bytes"
    assert await open_check(other, kept) == 1  # the backup's state: no "later"


async def test_restore_removes_stale_logs(tmp_path: Path) -> None:
    data, bk = tmp_path / "var", tmp_path / "bk"
    backend = await SqliteBackend.open(data / "store.sqlite3")
    acked = [await append(Store(backend), "one")]
    await backend.aclose()
    assert await cli("--data", str(data), "backup", str(bk)) == 0
    target = tmp_path / "other" / "store.sqlite3"
    target.parent.mkdir()
    for suffix in ("-wal", "-shm"):  # left by some crashed database: must not be replayed
        target.with_name(target.name + suffix).write_bytes(b"\x00" * 4096)
    assert await cli("--data", str(target.parent), "restore", str(bk)) == 0
    assert sorted(p.name for p in target.parent.iterdir()) == ["store.sqlite3"]
    assert await open_check(target.parent, acked) == 1


def _damage(kind: str, bk: Path) -> None:
    manifest = bk / "manifest.json"
    if kind == "no manifest":
        manifest.unlink()
    elif kind == "not json":
        manifest.write_text("{not json")
    elif kind == "wrong format":
        manifest.write_text(json.dumps({"format": "tarball/9", "store": {}}))
    elif kind == "unsafe path":
        data = json.loads(manifest.read_text())
        data["store"]["files"] = {"../../etc/passwd": {}}
        manifest.write_text(json.dumps(data))
    elif kind == "missing file":
        (bk / "store.sqlite3").unlink()
    elif kind == "corrupt file":
        with (bk / "store.sqlite3").open("r+b") as f:
            f.seek(5000)
            f.write(b"\xff" * 16)
    elif kind == "other backend":
        data = json.loads(manifest.read_text())
        data["store"]["backend"] = "postgres"
        manifest.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("no manifest", "is not a backup: it has no manifest.json"),
        ("not json", "manifest.json is unreadable"),
        ("wrong format", "is not a stalwart-kernel-backup/1 manifest"),
        ("unsafe path", "unsafe file '../../etc/passwd'"),
        ("missing file", "the backup is incomplete"),
        ("corrupt file", "does not match its checksum"),
        ("other backend", "holds a 'postgres' store but store.backend is 'sqlite'"),
    ],
)
async def test_restore_malformed_backup_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, message: str
) -> None:
    backend = await SqliteBackend.open(tmp_path / "var" / "store.sqlite3")
    await append(Store(backend), "x")
    await backend.aclose()
    bk = tmp_path / "bk"
    assert await cli("--data", str(tmp_path / "var"), "backup", str(bk)) == 0
    capsys.readouterr()
    _damage(kind, bk)
    fresh = tmp_path / "fresh"
    assert await cli("--data", str(fresh), "restore", str(bk)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: restore failed: ") and message in err
    assert "Traceback" not in err
    assert not fresh.exists()  # nothing was touched


async def test_restore_not_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli("--data", str(tmp_path / "var"), "restore", str(tmp_path / "nope")) == 1
    assert "nope is not a directory" in capsys.readouterr().err


async def test_backup_needs_a_store_and_a_new_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "var"
    assert await cli("--data", str(data), "backup", str(tmp_path / "bk")) == 1
    assert f"there is no SQLite store at {data / 'store.sqlite3'}" in capsys.readouterr().err
    assert not (data / "store.sqlite3").exists()  # backup never creates a store

    backend = await SqliteBackend.open(data / "store.sqlite3")
    await backend.aclose()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert await cli("--data", str(data), "backup", str(tmp_path / "full")) == 1
    assert "is not an empty directory" in capsys.readouterr().err
