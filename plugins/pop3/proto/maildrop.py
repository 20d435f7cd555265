"""The maildrop as one session sees it: message numbers, sizes, unique-ids, deletion marks.

RFC 1939 §4: when the maildrop is opened each message gets a number (1, 2,
...) and its size is noted; those stay fixed for the session. DELE only marks
a message (§5); RSET unmarks every one; the marks take effect in the UPDATE
state (§6), which the driver runs through the store.

Implementation notes:

* Unique-ids (RFC 1939 §7: 1 to 70 characters from 0x21 to 0x7E, stable
  across sessions, never reused) are the message's INBOX UID and the INBOX's
  UIDVALIDITY as two 8-digit upper-case hex numbers, ``%08X%08X`` (the
  default format of Dovecot's ``pop3_uidl_format``, ``%08Xu%08Xv``, so the
  ids survive a migration that keeps UIDs). A UID is never reused in a
  mailbox, so two deliveries of the same bytes get two ids.
* deviation(RFC 1939 §11): sizes are the stored octet counts. A message
  stored with bare LF line ends is sent with CRLF, so it arrives larger than
  listed; counting exactly would mean reading every message at login.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final, Generic, Protocol, TypeVar, final

__all__ = ["AlreadyDeleted", "MaildropView", "NoSuchMessage", "unique_id"]

_MAX_UID_LENGTH: Final = 70


class _Entry(Protocol):
    @property
    def uid(self) -> int: ...

    @property
    def size(self) -> int: ...


E = TypeVar("E", bound=_Entry)


class NoSuchMessage(LookupError):
    """The number names no message of the maildrop."""


class AlreadyDeleted(LookupError):
    """The message is marked deleted (RFC 1939 §5: it may not be referred to)."""


def unique_id(uidvalidity: int, uid: int) -> str:
    """The POP3 unique-id of INBOX membership ``uid`` (see the module notes)."""
    text = f"{uid:08X}{uidvalidity:08X}"
    assert len(text) <= _MAX_UID_LENGTH
    return text


@final
class MaildropView(Generic[E]):
    """Numbered messages with their deletion marks; ``entries`` in UID order."""

    def __init__(self, uidvalidity: int, entries: Sequence[E]) -> None:
        self.uidvalidity = uidvalidity
        self._entries = tuple(entries)
        self._deleted: set[int] = set()
        self._retrieved: set[int] = set()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, number: int) -> E:
        """Message ``number`` (1-based).

        Raises:
            NoSuchMessage: out of range.
            AlreadyDeleted: marked deleted.
        """
        if not 1 <= number <= len(self._entries):
            raise NoSuchMessage(number)
        if number in self._deleted:
            raise AlreadyDeleted(number)
        return self._entries[number - 1]

    def unique_id(self, number: int) -> str:
        """The unique-id of message ``number`` (same errors as :meth:`get`)."""
        return unique_id(self.uidvalidity, self.get(number).uid)

    def stat(self) -> tuple[int, int]:
        """(messages, octets), not counting marked messages (RFC 1939 §5)."""
        live = [e.size for n, e in self.live()]
        return len(live), sum(live)

    def live(self) -> Iterator[tuple[int, E]]:
        """(number, entry) of every message not marked deleted, in order."""
        for number, entry in enumerate(self._entries, start=1):
            if number not in self._deleted:
                yield number, entry

    def delete(self, number: int) -> None:
        """Mark message ``number`` deleted (same errors as :meth:`get`)."""
        self.get(number)
        self._deleted.add(number)

    def retrieved(self, number: int) -> None:
        """Note that message ``number`` was sent whole (for ``EXPIRE 0``)."""
        self._retrieved.add(number)

    def reset(self) -> None:
        """RSET: unmark every message."""
        self._deleted.clear()

    def to_remove(self, *, retrieved_too: bool = False) -> list[E]:
        """The entries to remove in the UPDATE state: marked ones, and with
        ``retrieved_too`` (RFC 2449 §6.7, ``EXPIRE 0``) every one sent by RETR."""
        numbers = self._deleted | self._retrieved if retrieved_too else self._deleted
        return [self._entries[n - 1] for n in sorted(numbers)]

    def remaining(self, *, retrieved_too: bool = False) -> int:
        """How many messages stay after the UPDATE state removes :meth:`to_remove`."""
        return len(self._entries) - len(self.to_remove(retrieved_too=retrieved_too))
