"""What the interpreter asks its host: the envelope, lookups, and included scripts.

The interpreter does no I/O (STYLE.md §1.9). Everything it needs from the outside world
comes through :class:`Host`, a synchronous Protocol: delivery runs the interpreter in a
worker thread and answers from the store; tests answer from memory with
:class:`StaticHost`.

Implementation notes:

- Lookups are questions, never side effects: recording duplicate state or sending a
  reply is an action (:mod:`plugins.sieve.actions`) the host performs afterwards.
- ``include`` returns the script source (or an already compiled script); the
  interpreter compiles and caches it for the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, final

from plugins.sieve.compiled import CompiledScript

__all__ = ["Envelope", "Host", "StaticHost"]


@final
@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope of the message being filtered.

    ``mail_from`` is the reverse path without brackets (``""`` for the null sender);
    ``rcpt_to`` the final recipient; ``orig_rcpt`` the original recipient (RFC 3461
    ORCPT, else the recipient); ``auth`` the authenticated submitter, if any.
    """

    mail_from: str = ""
    rcpt_to: str = ""
    orig_rcpt: str | None = None
    auth: str | None = None

    @property
    def original_recipient(self) -> str:
        """The original recipient, falling back to the final one."""
        return self.orig_rcpt if self.orig_rcpt is not None else self.rcpt_to


class Host(Protocol):
    """The lookups a run may make. Every method is synchronous and must not block long."""

    def mailbox_exists(self, name: str) -> bool:
        """RFC 5490 §3.1: whether the user's mailbox ``name`` exists (UTF-8 name)."""
        ...

    def special_use_exists(self, mailbox: str | None, uses: tuple[str, ...]) -> bool:
        """RFC 8579 §3: whether some mailbox (or ``mailbox``) has all these special uses."""
        ...

    def mailbox_id_exists(self, mailbox_id: str) -> bool:
        """RFC 9042 §4: whether a mailbox with this id exists."""
        ...

    def metadata(self, mailbox: str | None, entry: str) -> str | None:
        """RFC 5490 §3.3/§3.5: an RFC 5464 METADATA entry of ``mailbox`` (``None``: the
        server), or ``None`` when unset.
        """
        ...

    def duplicate_seen(self, key: str) -> bool:
        """RFC 7352 §3: whether ``key`` was recorded by an earlier delivery and has not
        expired.
        """
        ...

    def include(self, name: str, location: str) -> str | bytes | CompiledScript | None:
        """RFC 6609 §3.2: the script ``name`` from ``location`` (``personal`` or
        ``global``), or ``None`` when it does not exist.
        """
        ...

    def environment(self, name: str) -> str | None:
        """RFC 5183 §4: the value of environment item ``name``, or ``None``."""
        ...

    def now(self) -> datetime:
        """The current date and time, with the host's local time zone (RFC 5260 §5)."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC).astimezone()


@final
@dataclass
class StaticHost:
    """A :class:`Host` answering from memory (tests, dry runs, ``rules test``)."""

    mailboxes: set[str] = field(default_factory=lambda: {"INBOX"})
    special_uses: dict[str, set[str]] = field(default_factory=dict)
    mailbox_ids: dict[str, str] = field(default_factory=dict)
    mailbox_metadata: dict[tuple[str, str], str] = field(default_factory=dict)
    server_metadata: dict[str, str] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    scripts: dict[tuple[str, str], str | bytes | CompiledScript] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    clock: datetime | None = None

    def mailbox_exists(self, name: str) -> bool:
        """Whether ``name`` is in :attr:`mailboxes`."""
        return name in self.mailboxes

    def special_use_exists(self, mailbox: str | None, uses: tuple[str, ...]) -> bool:
        """Whether a mailbox (or ``mailbox``) carries every one of ``uses``."""
        wanted = {use.lower() for use in uses}
        candidates = [mailbox] if mailbox is not None else list(self.special_uses)
        for name in candidates:
            have = {use.lower() for use in self.special_uses.get(name, set())}
            if wanted <= have and name in self.mailboxes:
                return True
        return False

    def mailbox_id_exists(self, mailbox_id: str) -> bool:
        """Whether ``mailbox_id`` is a key of :attr:`mailbox_ids`."""
        return mailbox_id in self.mailbox_ids

    def metadata(self, mailbox: str | None, entry: str) -> str | None:
        """The entry from :attr:`server_metadata` or :attr:`mailbox_metadata`."""
        if mailbox is None:
            return self.server_metadata.get(entry.lower())
        return self.mailbox_metadata.get((mailbox, entry.lower()))

    def duplicate_seen(self, key: str) -> bool:
        """Whether ``key`` is in :attr:`seen`."""
        return key in self.seen

    def include(self, name: str, location: str) -> str | bytes | CompiledScript | None:
        """The script stored under ``(location, name)``."""
        return self.scripts.get((location, name))

    def environment(self, name: str) -> str | None:
        """The item from :attr:`items`."""
        return self.items.get(name)

    def now(self) -> datetime:
        """:attr:`clock` when set, else the current local time."""
        return self.clock if self.clock is not None else _utc_now()
