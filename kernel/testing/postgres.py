"""Reaching the PostgreSQL server that PostgreSQL-backed tests run against.

Tests take the DSN from ``STALWART_TEST_POSTGRES_DSN`` (default: database
``test`` on 127.0.0.1 as ``postgres``). Without a reachable server they are
skipped, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
import pytest

__all__ = ["DSN", "admin_connection"]

DSN = os.environ.get("STALWART_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def admin_connection(dsn: str = DSN) -> psycopg.Connection[Any]:
    """An autocommit connection to ``dsn``; skips the test (fails it under CI) if unreachable."""
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL is not reachable at STALWART_TEST_POSTGRES_DSN: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
