"""The Sieve :class:`~plugins.sieve.host.Host` of local delivery, answered from the store.

The interpreter is synchronous and runs in a worker thread (:mod:`plugins.sieve.runner`).
What every run needs (the account's mailboxes) is read before the run and answered
from memory; what only some scripts ask (metadata, duplicate state, included scripts)
is fetched on demand with ``trio.from_thread.run``, which blocks the worker thread,
never the trio thread.

Implementation notes:

- Mailbox names are store paths with ``/`` between levels; ``INBOX`` is
  case-insensitive (RFC 3501 §5.1). Mailbox ids are the RFC 8474 ``MAILBOXID``
  form the IMAP plugin shows (``F`` and the store id); a bare store id is accepted.
- Special uses (RFC 8579) are the store's mailbox roles: ``\\Junk`` is role ``junk``.
- Duplicate tracking (RFC 7352 §3): the first question about a key records it in
  the store at once (:meth:`kernel.store.SieveScripts.track`, atomic), so two
  concurrent deliveries of one message cannot both see "new"; the answer is cached
  for the run (§3: every test with the same arguments gives the same answer). Keys
  recorded this way are listed in :attr:`StoreHost.recorded`; delivery gives them
  their real lifetime when the run succeeds and forgets them when it fails.
- Every on-demand lookup first checks :attr:`StoreHost.abandoned`: a run the trio
  side gave up on (time limit) ends at its next lookup.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

import trio

from kernel.errors import KernelError, NoSuchItem
from kernel.store import Mailbox, Mailboxes
from plugins.sieve.compiled import CompiledScript
from plugins.sieve.errors import SieveLimitExceeded, SieveRuntimeError

if TYPE_CHECKING:
    from kernel.store import Store

__all__ = ["PENDING_LIFETIME", "StoreHost", "digest", "parse_mailbox_id", "script_file"]

#: Lifetime of a duplicate key recorded during a run, until the run's outcome is known.
PENDING_LIFETIME = 600.0


def parse_mailbox_id(value: str) -> int | None:
    """The store id in a MAILBOXID (``F123``) or a bare id (``123``), else None."""
    text = value[1:] if value[:1] in ("F", "f") else value
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def script_file(directory: str | None, name: str) -> Path | None:
    """The file of global script ``name`` in ``directory`` (None: no such safe name)."""
    if directory is None or not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    return Path(directory) / f"{name}.sieve"


@final
class StoreHost:
    """Answers a run's lookups for one account.

    Args:
        store: the store (``kernel.store``).
        account: the account's store id.
        mailboxes: the account's mailboxes, read before the run.
        environment: RFC 5183 environment items (``domain``, ``host``, ...).
        global_dir: where ``include :global`` scripts live (None: nowhere).
    """

    def __init__(
        self,
        store: Store,
        account: int,
        mailboxes: list[Mailbox],
        *,
        environment: Mapping[str, str],
        global_dir: str | None = None,
    ) -> None:
        self._store = store
        self._account = account
        self._paths = {Mailboxes.path(mailboxes, m): m for m in mailboxes}
        self._ids = {m.id for m in mailboxes}
        self._roles = {m.role.lower() for m in mailboxes if m.role}
        self._roles_by_path = {p: (m.role or "").lower() for p, m in self._paths.items()}
        self._environment = dict(environment)
        self._global_dir = global_dir
        self._answers: dict[str, bool] = {}
        #: Duplicate keys this run recorded in the store (new ones).
        self.recorded: list[str] = []
        #: Set by the trio side when it stopped waiting for the run.
        self.abandoned = threading.Event()

    # -- memory answers ----------------------------------------------------------
    def _find(self, name: str) -> str | None:
        if name.upper() == "INBOX":
            return next((p for p in self._paths if p.upper() == "INBOX"), None)
        return name if name in self._paths else None

    def mailbox_exists(self, name: str) -> bool:
        """RFC 5490 §3.1: whether ``name`` is one of the account's mailboxes."""
        return self._find(name) is not None

    def special_use_exists(self, mailbox: str | None, uses: tuple[str, ...]) -> bool:
        """RFC 8579 §3: whether a mailbox (or ``mailbox``) has every use in ``uses``."""
        wanted = {use.lstrip("\\").lower() for use in uses}
        if mailbox is None:
            return len(wanted) <= 1 and wanted <= self._roles
        path = self._find(mailbox)
        return path is not None and wanted <= {self._roles_by_path[path]}

    def mailbox_id_exists(self, mailbox_id: str) -> bool:
        """RFC 9042 §4: whether a mailbox with this MAILBOXID exists."""
        parsed = parse_mailbox_id(mailbox_id)
        return parsed is not None and parsed in self._ids

    def environment(self, name: str) -> str | None:
        """RFC 5183 §4: the environment item ``name``."""
        return self._environment.get(name)

    def now(self) -> datetime:
        """The current local time (RFC 5260 §5)."""
        return datetime.now(UTC).astimezone()

    # -- store answers -----------------------------------------------------------
    def _ask(self, fn: Any, *args: Any) -> Any:
        if self.abandoned.is_set():
            raise SieveLimitExceeded("the run was abandoned (time limit)")
        try:
            return trio.from_thread.run(fn, *args)
        except (KernelError, ValueError) as error:
            raise SieveRuntimeError(f"store lookup failed: {error}") from error
        except trio.RunFinishedError as error:
            raise SieveLimitExceeded("the server is stopping") from error

    def metadata(self, mailbox: str | None, entry: str) -> str | None:
        """RFC 5490 §3.3/§3.5: a METADATA entry of ``mailbox`` or of the server."""
        mailbox_id: int | None = None
        if mailbox is not None:
            path = self._find(mailbox)
            if path is None:
                return None
            mailbox_id = self._paths[path].id

        async def read() -> dict[str, bytes]:
            return await self._store.metadata.get(self._account, mailbox_id, [entry])

        try:
            found: dict[str, bytes] = self._ask(read)
        except SieveRuntimeError as error:
            if isinstance(error, SieveLimitExceeded):
                raise
            return None  # an invalid entry name has no value
        value = found.get(entry)
        return None if value is None else value.decode("utf-8", "replace")

    def duplicate_seen(self, key: str) -> bool:
        """RFC 7352 §3: whether ``key`` was tracked by an earlier delivery (see notes)."""
        if key in self._answers:
            return self._answers[key]

        async def track() -> bool:
            return await self._store.sieve.track(
                self._account, "duplicate", digest(key), PENDING_LIFETIME
            )

        seen = bool(self._ask(track))
        self._answers[key] = seen
        if not seen:
            self.recorded.append(key)
        return seen

    def include(self, name: str, location: str) -> str | bytes | CompiledScript | None:
        """RFC 6609 §3.2: a personal script from the store, a global one from a file."""
        if location == "global":
            path = script_file(self._global_dir, name)
            if path is None:
                return None
            try:
                return path.read_bytes()
            except OSError:
                return None

        async def read() -> bytes | None:
            try:
                return (await self._store.sieve.get(self._account, name))[1]
            except NoSuchItem:
                return None

        source: bytes | None = self._ask(read)
        return source


def digest(key: str) -> bytes:
    """The tracking digest of a duplicate or vacation key (hex digests stay compact)."""
    try:
        return bytes.fromhex(key)
    except ValueError:
        return key.encode("utf-8", "surrogateescape")
