"""Hooks of the ``store_sqlite`` plugin: the ``sqlite`` store backend, options, backups."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from kernel import BackendSpec, Kernel, Option, Section, hookimpl
from plugins.store_sqlite import backup
from plugins.store_sqlite.connection import SqliteBackend


@hookimpl
def stalwart_register_config_sections() -> list[Section]:
    return [
        Section(
            "store_sqlite",
            "The embedded SQLite store (store.backend: sqlite).",
            (
                Option(
                    "path",
                    "string",
                    "store.sqlite3",
                    "Database file; relative paths are under the data directory.",
                    reloadable=False,
                ),
                Option(
                    "busy_timeout",
                    "duration",
                    "5s",
                    "How long to wait for another process holding the write lock.",
                    reloadable=False,
                ),
                Option(
                    "max_batch",
                    "integer",
                    256,
                    "Most writes committed together by one group commit.",
                    reloadable=False,
                    schema={"minimum": 1},
                ),
                Option(
                    "readers",
                    "integer",
                    8,
                    "Reads that may run in parallel.",
                    reloadable=False,
                    schema={"minimum": 1},
                ),
            ),
        )
    ]


@asynccontextmanager
async def _open(kernel: Kernel) -> AsyncIterator[SqliteBackend]:
    options = kernel.config["store_sqlite"]
    path = Path(options["path"])
    if not path.is_absolute():
        path = kernel.data_dir / path
    backend = await SqliteBackend.open(
        path,
        busy_timeout=options["busy_timeout"],
        max_batch=options["max_batch"],
        readers=options["readers"],
    )
    try:
        yield backend
    finally:
        await backend.aclose()


@hookimpl
def stalwart_register_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            kind="store",
            name="sqlite",
            open=_open,
            backup=backup.backup,
            restore=backup.restore,
        )
    ]


@hookimpl
def stalwart_required_backends() -> list[str]:
    # Messages above store.inline_limit keep their bytes in the blob backend.
    return ["blob"]
