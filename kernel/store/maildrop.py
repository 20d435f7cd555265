"""The POP3 view of the store: maildrop leases, the INBOX listing, streamed reads.

A POP3 maildrop is the account's INBOX (the mailbox with role ``inbox``).
This module gives the POP3 plugin what it needs from the store and nothing a
protocol could not get through the domain API:

* **Leases** (``maildrop_leases``): RFC 1939 §4 asks for an exclusive lock on
  the maildrop while a session is in the TRANSACTION state. The lock is a row
  in the store, so it holds across processes and nodes; it carries an expiry,
  so a crashed server's lock runs out by itself. Its holder renews it while the
  session lives and releases it at the end.
* **Listing**: the INBOX's memberships in UID order with each email's size,
  read in one snapshot. The POP3 unique-id comes from the membership
  (UIDVALIDITY and UID), never from the content (RFC 1939 §7), so two
  deliveries of the same bytes are two messages with two ids.
* **Reading** a message in chunks (:class:`MessageReader`): bytes stored in the
  database come in one piece (they are at most ``store.inline_limit``); bytes
  in the blob store are streamed from an open file when the blob store can
  (``open_blob``, as ``blob_fs`` does), so a huge message is never held whole.
* **Deleting** what a session marked (:meth:`Maildrop.expunge`): one
  transaction through :class:`~kernel.store.emails.Emails`, so IMAP and JMAP
  see the removal in the same change-log entry; optionally a move to Trash.

Implementation notes:

* Lease times are wall-clock seconds from the caller's clock (``now``). Nodes
  sharing a store need clocks in sync to well under the lease's lifetime.
* Expunge removes only memberships that still have the UID the session
  listed: a message another client expunged, or moved out and back (a new
  UID: a new message for POP3), is left alone. The check and the removal are
  two steps; a concurrent IMAP change between them can only make the removal
  skip a message, never remove one the session did not list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, final, runtime_checkable

from kernel.errors import DuplicateUid, NoSuchItem, StoreError
from kernel.store.emails import Emails
from kernel.store.interfaces import Backend, BlobStore, ReadOps
from kernel.store.mail_ops import owned_email
from kernel.store.mailboxes import Mailboxes

__all__ = ["CHUNK", "Maildrop", "MaildropEntry", "MaildropListing", "MessageReader"]

#: Bytes per chunk when a message is streamed.
CHUNK = 64 * 1024


@final
@dataclass(frozen=True, slots=True)
class MaildropEntry:
    """One message of a maildrop listing: its INBOX membership and size."""

    uid: int
    email: int
    size: int


@final
@dataclass(frozen=True, slots=True)
class MaildropListing:
    """The maildrop as a session sees it from login on.

    Attributes:
        inbox: the INBOX's id.
        uidvalidity: the INBOX's UIDVALIDITY (part of every unique-id).
        entries: the messages in UID order (POP3 message *n* is ``entries[n-1]``).
    """

    inbox: int
    uidvalidity: int
    entries: tuple[MaildropEntry, ...]


@runtime_checkable
class _StreamingBlobs(Protocol):
    """A blob store that can open a blob as an async file (``blob_fs``)."""

    async def open_blob(self, blob_id: str) -> Any: ...


@final
class MessageReader:
    """One message's bytes, read chunk by chunk; use as an async context manager.

    Resource handling: a blob-store file is opened on entry and closed on exit.
    """

    def __init__(self, size: int, data: bytes | None, opener: Callable[[], Any] | None) -> None:
        self.size = size
        self._data = data
        self._offset = 0
        self._opener = opener
        self._file: Any = None

    async def __aenter__(self) -> MessageReader:
        if self._opener is not None:
            self._file = await self._opener()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            await file.aclose()

    async def read_chunk(self, max_bytes: int = CHUNK) -> bytes:
        """The next chunk of at most ``max_bytes``; ``b""`` at the end."""
        if self._file is not None:
            data: bytes = await self._file.read(max_bytes)
            return data
        assert self._data is not None, "enter the reader first"
        chunk = self._data[self._offset : self._offset + max_bytes]
        self._offset += len(chunk)
        return chunk


@final
class Maildrop:
    """The POP3 part of the domain API (``store.maildrop``).

    Args:
        backend: the store backend.
        emails: the email API (expunge goes through it, for its change events).
        mailboxes: the mailbox API (to create a missing Trash).
        blobs: the blob store, if any.
        clock: wall-clock seconds, for leases when no ``now`` is given.
    """

    def __init__(
        self,
        backend: Backend,
        emails: Emails,
        mailboxes: Mailboxes,
        blobs: BlobStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._backend = backend
        self._emails = emails
        self._mailboxes = mailboxes
        self._blobs = blobs
        self._clock = clock

    # ---- leases --------------------------------------------------------------

    async def acquire(self, account: int, owner: str, ttl: float, now: float | None = None) -> bool:
        """Lock the account's maildrop for ``owner`` for ``ttl`` seconds.

        Inserts the lease, or takes over an expired one, in one write
        transaction. Returns False (and changes nothing) while another owner's
        lease has not expired. Raises NoSuchItem for an unknown account.
        """
        at = self._clock() if now is None else now
        return await self._backend.write(
            lambda ops: ops.acquire_maildrop_lease(account, owner, at + ttl, at)
        )

    async def renew(self, account: int, owner: str, ttl: float, now: float | None = None) -> bool:
        """Extend ``owner``'s lease to ``ttl`` seconds from now; False if it was lost."""
        at = self._clock() if now is None else now
        return await self._backend.write(
            lambda ops: ops.renew_maildrop_lease(account, owner, at + ttl)
        )

    async def release(self, account: int, owner: str) -> bool:
        """Unlock the maildrop if ``owner`` holds it; False if it did not."""
        return await self._backend.write(lambda ops: ops.release_maildrop_lease(account, owner))

    # ---- listing and reading -------------------------------------------------

    async def listing(self, account: int) -> MaildropListing:
        """The account's INBOX as a POP3 maildrop, from one snapshot.

        Raises:
            NoSuchItem: the account has no INBOX.
        """

        def read(ops: ReadOps) -> MaildropListing:
            inbox = next((m for m in ops.mailboxes(account) if m.role == "inbox"), None)
            if inbox is None:
                raise NoSuchItem(f"account {account} has no INBOX")
            entries = []
            for member in ops.mailbox_members(inbox.id):
                row = ops.email_row(member.email)
                if row is not None:
                    entries.append(MaildropEntry(member.uid, member.email, row.size))
            return MaildropListing(inbox.id, inbox.uidvalidity, tuple(entries))

        return await self._backend.read(read)

    async def open_message(self, account: int, email: int) -> MessageReader:
        """A reader of the email's bytes exactly as stored (enter it to read).

        Raises:
            NoSuchItem: no such email (e.g. destroyed by another client).
            StoreError: its bytes are missing.
        """

        def read(ops: ReadOps) -> tuple[str, int, bytes | None]:
            row = owned_email(ops, account, email)
            return row.blob, row.size, ops.blob(row.blob)

        blob, size, data = await self._backend.read(read)
        if data is not None:
            return MessageReader(size, data, None)
        if isinstance(self._blobs, _StreamingBlobs):
            streaming = self._blobs

            async def opener() -> Any:
                return await streaming.open_blob(blob)

            return MessageReader(size, None, opener)
        stored = await self._blobs.get(blob) if self._blobs is not None else None
        if stored is None:
            raise StoreError(f"the bytes of email {email} (blob {blob}) are missing")
        return MessageReader(size, stored, None)

    # ---- the UPDATE state ------------------------------------------------------

    async def expunge(
        self,
        account: int,
        listing: MaildropListing,
        entries: Sequence[MaildropEntry],
        *,
        trash: bool = False,
    ) -> int:
        """Remove ``entries`` of ``listing`` from the INBOX; returns how many were removed.

        Each goes only if its membership still has the listed UID (see the
        module notes). With ``trash`` they move to the account's Trash (created
        if the account has none) instead of leaving the INBOX for good.
        """
        wanted = {(entry.email, entry.uid) for entry in entries}
        inbox = listing.inbox
        for _attempt in range(3):
            current = await self._backend.read(lambda ops: ops.mailbox_members(inbox))
            emails = [m.email for m in current if (m.email, m.uid) in wanted]
            if not emails:
                return 0
            if not trash:
                return len(await self._emails.remove(account, listing.inbox, emails))
            target = await self._trash(account)
            try:
                await self._emails.move(account, listing.inbox, emails, target)
            except NoSuchItem:
                continue  # another client expunged one meanwhile: look again
            return len(emails)
        raise StoreError("the maildrop kept changing while its messages were removed")

    async def _trash(self, account: int) -> int:
        """The account's Trash mailbox, created with role ``trash`` if missing."""

        def find(ops: ReadOps) -> int | None:
            boxes = ops.mailboxes(account)
            by_role = [m for m in boxes if m.role == "trash"]
            by_name = [m for m in boxes if m.parent is None and m.name == "Trash"]
            found = (by_role or by_name or [None])[0]
            return found.id if found else None

        existing = await self._backend.read(find)
        if existing is None:
            try:
                existing = (await self._mailboxes.create(account, "Trash", role="trash")).id
            except DuplicateUid:  # created meanwhile
                existing = await self._backend.read(find)
        if existing is None:
            raise StoreError(f"account {account} has no Trash and none can be created")
        return existing
