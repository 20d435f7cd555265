"""Mailbox and server annotations (RFC 5464 METADATA), used by IMAP and Sieve.

An entry belongs to a mailbox, or to the server when ``mailbox`` is None.
``/shared/...`` entries have one value for everyone who can see the mailbox;
``/private/...`` entries have one value per principal. Entry names are
case-insensitive (stored lower-case), slash-separated, with no ``*``, ``%``,
non-ASCII or control characters, no ``//`` and no trailing ``/`` (RFC 5464
§3.2). Limits: :data:`MAX_VALUE` octets per value (``[METADATA MAXSIZE]``) and
:data:`MAX_ENTRIES` entries per mailbox and principal (``[METADATA TOOMANY]``).

Rights are the caller's to check (RFC 5464 §3.3: ``l``/``r`` to read, ``w``
for private and ``a``... as the IMAP layer decides); this module stores.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, final

from kernel.errors import NoSuchItem, StoreError
from kernel.store.interfaces import Backend, ReadOps, WriteOps

__all__ = ["MAX_ENTRIES", "MAX_VALUE", "Metadata", "MetadataTooLarge", "TooManyEntries"]

MAX_VALUE = 64 * 1024
MAX_ENTRIES = 512
_NAME = re.compile(r"^/(private|shared)(/[\x21-\x7e]+)+$")


@final
class MetadataTooLarge(StoreError):
    """A value is over :data:`MAX_VALUE` octets (IMAP ``[METADATA MAXSIZE n]``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"metadata values are limited to {limit} octets")
        self.limit = limit


@final
class TooManyEntries(StoreError):
    """The mailbox already has :data:`MAX_ENTRIES` entries (IMAP ``[METADATA TOOMANY]``)."""


def check_entry_name(name: str) -> str:
    """The entry name lower-cased; ValueError if RFC 5464 §3.2 forbids it."""
    if (
        not _NAME.match(name)
        or "//" in name
        or name.endswith("/")
        or "*" in name
        or "%" in name
        or len(name) > 1024
    ):
        raise ValueError(f"{name!r} is not a valid metadata entry name")
    return name.lower()


def _scope(name: str, principal: int) -> int:
    # /shared entries are stored under principal 0; /private under the principal.
    return principal if name.startswith("/private/") else 0


@final
class Metadata:
    """The annotation part of the domain API."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    async def get(
        self,
        principal: int,
        mailbox: int | None,
        names: list[str],
        *,
        depth: Literal[0, 1, "infinity"] = 0,
    ) -> dict[str, bytes]:
        """The entries named (and those below them up to ``depth``) that have a value."""
        wanted = [check_entry_name(n) for n in names]

        def read(ops: ReadOps) -> dict[str, bytes]:
            _check_mailbox(ops, mailbox)
            found: dict[str, bytes] = {}
            for name in wanted:
                scope = _scope(name, principal)
                for entry, value in ops.metadata_entries(mailbox or 0, scope, name):
                    if _within(entry, name, depth):
                        found[entry] = value
            return dict(sorted(found.items()))

        return await self._backend.read(read)

    async def set(
        self, principal: int, mailbox: int | None, entries: Mapping[str, bytes | None]
    ) -> None:
        """Set (or, with None, remove) entries, all or none (RFC 5464 §4.3)."""
        checked = {check_entry_name(n): v for n, v in entries.items()}
        for value in checked.values():
            if value is not None and len(value) > MAX_VALUE:
                raise MetadataTooLarge(MAX_VALUE)

        def write(ops: WriteOps) -> None:
            _check_mailbox(ops, mailbox)
            for name, value in checked.items():
                ops.set_metadata(mailbox or 0, _scope(name, principal), name, value)
            for scope in {_scope(name, principal) for name in checked}:
                if ops.count_metadata(mailbox or 0, scope) > MAX_ENTRIES:
                    raise TooManyEntries(f"at most {MAX_ENTRIES} metadata entries")

        await self._backend.write(write)


def _check_mailbox(ops: ReadOps, mailbox: int | None) -> None:
    if mailbox is not None and ops.mailbox(mailbox) is None:
        raise NoSuchItem(f"no mailbox {mailbox}")


def _within(entry: str, name: str, depth: Literal[0, 1, "infinity"]) -> bool:
    if entry == name:
        return True
    if not entry.startswith(name + "/") or depth == 0:
        return False
    return depth == "infinity" or "/" not in entry[len(name) + 1 :]
