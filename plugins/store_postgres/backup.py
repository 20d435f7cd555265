"""Backup and restore of the PostgreSQL store with ``pg_dump`` and ``pg_restore``.

The kernel owns the commands and the manifest (:mod:`kernel.backup`); this
module is what the ``postgres`` :class:`~kernel.specs.BackendSpec` names as its
``backup`` and ``restore``. PostgreSQL's own tools do the work; without them
the commands explain how to run them by hand and fail.

Implementation notes:

* **Backup** runs ``pg_dump --format=custom --schema=<schema>`` into
  ``store.pgdump``. pg_dump reads everything in one snapshot, so the dump is
  consistent while servers keep writing. The client tools must be at least the
  server's major version (pg_dump refuses an older client and says so; its
  message is passed on).
* **Restore** lists the archive (``pg_restore --list``, which also proves it is
  one), drops the archive's ``CREATE SCHEMA`` entry (the schema may exist
  already: ``public`` always does) and restores the rest in one transaction
  (``--single-transaction --exit-on-error``), ``--no-owner`` so that the
  configured role owns the tables. An existing store is replaced only with
  ``--force``, then by ``--clean --if-exists`` inside that same transaction: a
  failed restore leaves the old store as it was. Tables that the archive does
  not have (a newer server's) are refused rather than left behind.
* The DSN's password never appears on a command line: it goes to the tools in
  ``PGPASSWORD``.
* Servers sharing the schema are not detected; stop them before a restore.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import trio
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from kernel import Kernel
from kernel.errors import StoreError
from plugins.store_postgres.connection import describe
from plugins.store_postgres.schema import MIGRATIONS

__all__ = ["FILE", "backup", "restore"]

#: The dump's name inside a backup directory.
FILE = "store.pgdump"

_DUMP_GUIDANCE = """\
pg_dump is not installed (or not on PATH), so the server cannot back up its
PostgreSQL store itself. Install the PostgreSQL client tools of the server's
major version (Debian/Ubuntu: apt install postgresql-client), or run:
  pg_dump --format=custom --schema={pattern} --file=store.pgdump '{where}'
pg_dump reads one consistent snapshot: it is safe while servers run."""

_RESTORE_GUIDANCE = """\
pg_restore is not installed (or not on PATH). Install the PostgreSQL client
tools, or with the servers stopped run:
  pg_restore --single-transaction --no-owner --dbname='{where}' {archive}"""


def _options(kernel: Kernel) -> tuple[str, str, float]:
    options = kernel.config["store_postgres"]
    return options["dsn"], options["schema"], options["connect_timeout"]


def _client(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN without its password, and an environment carrying it (``PGPASSWORD``)."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise StoreError(f"store_postgres.dsn is invalid: {exc}") from None
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **params), env


def _pattern(schema: str) -> str:
    # A pg_dump pattern matching exactly this name: quoted, so * ? . are literal.
    return '"' + schema.replace('"', '""') + '"'


async def _run(args: list[str], env: dict[str, str]) -> str:
    result = await trio.run_process(
        args, env=env, capture_stdout=True, capture_stderr=True, check=False
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise StoreError(f"{Path(args[0]).name} failed: {message}")
    return str(result.stdout.decode(errors="replace"))


@contextmanager
def _connect(dsn: str, timeout: float) -> Iterator[psycopg.Connection]:
    """A connection in autocommit mode; any database error becomes a ``StoreError``."""
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=max(2, round(timeout))) as conn:
            yield conn
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL at {describe(dsn)}: {exc}") from None


# ---- backup ----------------------------------------------------------------


def _fsync(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def _schema_version(dsn: str, schema: str, timeout: float) -> int:
    with _connect(dsn, timeout) as conn:
        try:
            query = sql.SQL("SELECT version FROM {}.schema_version").format(sql.Identifier(schema))
            row = conn.execute(query).fetchone()
        except psycopg.errors.UndefinedTable:
            row = None
    if row is None:
        raise StoreError(f"there is no store in schema {schema!r} at {describe(dsn)}")
    return int(row[0])


async def backup(kernel: Kernel, dest: Path) -> dict[str, Any]:
    """``pg_dump`` the store's schema into ``dest/store.pgdump``; see the module notes."""
    dsn, schema, timeout = _options(kernel)
    conninfo, env = _client(dsn)
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise StoreError(_DUMP_GUIDANCE.format(pattern=_pattern(schema), where=conninfo))
    version = await trio.to_thread.run_sync(_schema_version, dsn, schema, timeout)
    partial = dest / f".{FILE}.partial"
    try:
        await _run(
            [
                pg_dump,
                "--format=custom",
                "--no-password",
                f"--schema={_pattern(schema)}",
                f"--file={partial}",
                f"--dbname={conninfo}",
            ],
            env,
        )
        await trio.to_thread.run_sync(_fsync, partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, dest / FILE)  # the kernel fsyncs the directory with the manifest
    return {"schema_version": version, "schema": schema, "files": [FILE]}


# ---- restore ---------------------------------------------------------------

# pg_restore --list: "<id>; <catalog oid> <oid> <TYPE...> <schema|-> <name> <owner>"
_ENTRY = re.compile(r"^\d+; \d+ \d+ (?P<what>.+?) (?P<schema>\S+) (?P<name>\S+) (?P<owner>\S+)$")


def _existing_tables(dsn: str, schema: str, timeout: float) -> set[str]:
    with _connect(dsn, timeout) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        return {str(name) for (name,) in rows}


def _ensure_schema(dsn: str, schema: str, timeout: float) -> None:
    # As migrate(): CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even
    # when the schema exists, which a role owning only its schema lacks.
    with _connect(dsn, timeout) as conn:
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone():
            return
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def _plan(listing: str, schema: str) -> tuple[list[str], set[str]]:
    """The list to restore (without the schema's own entry) and the archive's tables."""
    keep: list[str] = []
    tables: set[str] = set()
    for line in listing.splitlines():
        entry = _ENTRY.match(line)
        if entry is not None:
            # "SCHEMA - name" creates the schema, "COMMENT - SCHEMA name" comments on it.
            if entry["name"] == schema and "SCHEMA" in (entry["what"], entry["schema"]):
                continue  # the schema may exist already (public always does)
            if entry["what"] == "TABLE" and entry["schema"] == schema:
                tables.add(entry["name"])
        keep.append(line)
    return keep, tables


def _write_list(entries: list[str]) -> Path:
    listing = Path(tempfile.mkdtemp(prefix="stalwart-restore-")) / "restore.list"
    listing.write_text("\n".join(entries) + "\n", encoding="utf-8")
    return listing


@asynccontextmanager
async def restore(
    kernel: Kernel, source: Path, described: Mapping[str, Any], force: bool
) -> AsyncIterator[None]:
    """Check the archive and the target; ``pg_restore`` it on a clean exit."""
    dsn, schema, timeout = _options(kernel)
    conninfo, env = _client(dsn)
    archive = source / FILE
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise StoreError(_RESTORE_GUIDANCE.format(where=conninfo, archive=archive))
    version = described.get("schema_version")
    if not isinstance(version, int) or version > len(MIGRATIONS):
        raise StoreError(
            f"the backup has schema version {version!r}; this server reads up to "
            f"{len(MIGRATIONS)}: upgrade the server first"
        )
    if described.get("schema") != schema:
        raise StoreError(
            f"the backup is of schema {described.get('schema')!r}, but store_postgres.schema "
            f"is {schema!r}: set it to the backup's (rename the schema afterwards if needed)"
        )
    keep, tables = _plan(await _run([pg_restore, "--list", str(archive)], env), schema)
    existing = await trio.to_thread.run_sync(_existing_tables, dsn, schema, timeout)
    if existing and not force:
        raise StoreError(
            f"schema {schema!r} at {describe(dsn)} already holds a store "
            f"({len(existing)} tables): use --force to replace it"
        )
    if extra := sorted(existing - tables):
        raise StoreError(
            f"schema {schema!r} has tables the backup lacks ({', '.join(extra)}); "
            "drop them first or restore into an empty schema"
        )
    listing = await trio.to_thread.run_sync(_write_list, keep)
    try:
        yield
        await trio.to_thread.run_sync(_ensure_schema, dsn, schema, timeout)
        command = [
            pg_restore,
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--no-password",
            f"--use-list={listing}",
            f"--dbname={conninfo}",
        ]
        if existing:
            command += ["--clean", "--if-exists"]
        await _run([*command, str(archive)], env)
    finally:
        await trio.to_thread.run_sync(shutil.rmtree, listing.parent)
