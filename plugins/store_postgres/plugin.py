"""Hooks of the ``store_postgres`` plugin: the ``postgres`` store backend, options, backups."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kernel import BackendSpec, Kernel, Option, Section, hookimpl
from plugins.store_postgres import backup
from plugins.store_postgres.connection import PostgresBackend


@hookimpl
def stalwart_register_config_sections() -> list[Section]:
    return [
        Section(
            "store_postgres",
            "The PostgreSQL store (store.backend: postgres); several servers may share it.",
            (
                Option(
                    "dsn",
                    "string",
                    "postgresql://127.0.0.1:5432/stalwart",
                    "libpq connection string or URI; a password belongs in `${env:...}` "
                    "or `${file:...}`.",
                    reloadable=False,
                ),
                Option(
                    "schema",
                    "string",
                    "public",
                    "PostgreSQL schema holding the tables; created if missing.",
                    reloadable=False,
                    schema={"minLength": 1, "maxLength": 63},
                ),
                Option(
                    "min_connections",
                    "integer",
                    1,
                    "Connections the pool keeps open.",
                    reloadable=False,
                    schema={"minimum": 1},
                ),
                Option(
                    "max_connections",
                    "integer",
                    10,
                    "Most connections, and so most reads and writes running at once.",
                    reloadable=False,
                    schema={"minimum": 1},
                ),
                Option(
                    "connect_timeout",
                    "duration",
                    "10s",
                    "How long to wait for the server when connecting.",
                    reloadable=False,
                ),
            ),
        )
    ]


@asynccontextmanager
async def _open(kernel: Kernel) -> AsyncIterator[PostgresBackend]:
    options = kernel.config["store_postgres"]
    backend = await PostgresBackend.open(
        options["dsn"],
        schema=options["schema"],
        min_connections=options["min_connections"],
        max_connections=options["max_connections"],
        connect_timeout=options["connect_timeout"],
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
            name="postgres",
            open=_open,
            backup=backup.backup,
            restore=backup.restore,
        )
    ]


@hookimpl
def stalwart_required_backends() -> list[str]:
    # Messages above store.inline_limit keep their bytes in the blob backend.
    return ["blob"]
