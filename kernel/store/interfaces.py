"""What a storage backend provides underneath the domain API.

The domain API (``kernel.store``) is written once. A backend (``store_sqlite``,
``store_postgres``, a third party's) provides two things:

* typed, synchronous **operations** (:class:`ReadOps`, :class:`WriteOps`) that
  each run one or a few SQL statements, with the dialect and schema inside the
  backend;
* a way to **run** a function of those operations: :meth:`Backend.read` in a
  worker thread against a consistent snapshot, :meth:`Backend.write` as one
  atomic transaction. Writers may group-commit concurrent write functions into
  one durable commit, as long as each function is atomic on its own (run it
  inside a savepoint) and no caller is answered before the commit is durable.

Domain logic (validation, hashing, quotas, change events) stays in the domain
API; a write function must be quick and must not do I/O beyond its operations,
since it runs on the writer thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, NamedTuple, Protocol, TypeVar

from kernel.store.email_text import EmailText
from kernel.store.filters import Comparator, Filter
from kernel.store.mail_records import EmailRow, Mailbox, MailboxCounts, Membership
from kernel.store.records import AppPassword, Domain, Principal, ScramSecret, Token

__all__ = ["Backend", "BlobStore", "Executed", "ReadOps", "WriteOps"]

T = TypeVar("T")


class Executed(NamedTuple):
    """What :meth:`WriteOps.execute` ran: the rows it returned and the rows it touched."""

    rows: list[tuple[Any, ...]]
    rowcount: int


class ReadOps(Protocol):
    """Reads available inside :meth:`Backend.read` and :meth:`Backend.write`.

    Record families that need nothing dialect-specific (Sieve scripts, the
    outbound queue, identities ...) are written once in ``kernel.store`` as
    portable SQL run through :meth:`select` and :meth:`WriteOps.execute`:
    ``?`` placeholders (no ``?`` or ``%`` inside literals), flags as Python
    ``bool`` parameters and tested as ``WHERE flag`` (SQLite stores 0/1,
    PostgreSQL ``BOOLEAN``), ``RETURNING`` for generated ids. Where the
    dialects must differ (``FOR UPDATE SKIP LOCKED``), branch on
    :attr:`backend_name`.
    """

    #: ``"sqlite"`` or ``"postgres"`` (a third-party backend names itself).
    backend_name: str

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one portable query (see the class notes)."""
        ...

    def principal_by_name(self, name: str) -> Principal | None:
        """The principal whose primary address is ``name`` (lower-case), if any."""
        ...

    def principal_by_id(self, principal: int) -> Principal | None:
        """The principal with this id, if any."""
        ...

    def principals(self, kind: str | None = None) -> list[Principal]:
        """Every principal (of ``kind``), ordered by name."""
        ...

    def count_principals(self) -> int:
        """How many principals exist (0 on a new store)."""
        ...

    def secret_hash(self, principal: int) -> str | None:
        """The principal's password hash (argon2 encoded), if it has one."""
        ...

    def scram_secret(self, principal: int, hash_name: str = "sha256") -> ScramSecret | None:
        """The principal's SCRAM keys for ``hash_name`` (``sha256`` or ``sha1``).

        Returns:
            The keys, or None when none are stored for that hash (no password, a
            password SCRAM cannot carry, or SHA-1 keys of a password set before
            migration 11 and not yet used with a plain-text login).
        """
        ...

    def domain(self, name: str) -> Domain | None:
        """The local domain ``name`` (lower-case), if it is one."""
        ...

    def domains(self) -> list[Domain]:
        """Every local domain, ordered by name."""
        ...

    def alias_target(self, address: str) -> int | None:
        """The principal an alias address (or ``@domain`` catch-all) points at."""
        ...

    def aliases(self, principal: int | None = None) -> list[tuple[str, int]]:
        """(address, principal) of every alias (of ``principal``), ordered by address."""
        ...

    def app_passwords(self, principal: int) -> list[tuple[AppPassword, str]]:
        """The principal's app passwords with their hashes."""
        ...

    def tokens(self, principal: int | None = None) -> list[Token]:
        """Bearer tokens (of ``principal``), without their secrets."""
        ...

    def token_by_digest(self, digest: bytes) -> Token | None:
        """The token whose SHA-256 digest is ``digest``."""
        ...

    def current_modseq(self, account: int) -> int:
        """The account's change-log position (0 before its first change)."""
        ...

    def changes_since(
        self, account: int, kind: str, since: int
    ) -> list[tuple[int, int, bool, bool]]:
        """(modseq, item, created, destroyed) of ``kind`` after ``since``, in log order."""
        ...

    def mailbox(self, mailbox: int) -> Mailbox | None:
        """The mailbox with this id, if any."""
        ...

    def mailboxes(self, account: int) -> list[Mailbox]:
        """Every mailbox of the account, in creation order."""
        ...

    def blob(self, blob: str) -> bytes | None:
        """The bytes of a blob stored in the database (SHA-256 hex id), if present."""
        ...

    def existing_blobs(self, blobs: Sequence[str]) -> set[str]:
        """Which of these blobs have a row (are referenced), wherever their bytes are."""
        ...

    def email_row(self, email: int) -> EmailRow | None:
        """An email's row, if it exists."""
        ...

    def keywords(self, email: int) -> frozenset[str]:
        """An email's keywords (lower-case)."""
        ...

    def memberships(self, email: int) -> list[Membership]:
        """The mailboxes holding an email, by mailbox id."""
        ...

    def mailbox_members(self, mailbox: int) -> list[Membership]:
        """A mailbox's memberships in UID order."""
        ...

    def memberships_of(self, emails: Sequence[int]) -> dict[int, list[Membership]]:
        """:meth:`memberships` of each of ``emails`` in one query; emails in no
        mailbox (or that do not exist) are absent."""
        ...

    def threads_for(self, account: int, message_ids: list[str]) -> list[int]:
        """Threads that already hold any of these Message-IDs (as id or reference)."""
        ...

    def thread_has_subject(self, account: int, thread: int, base_subject: str) -> bool:
        """Whether an email of ``thread`` has this base subject."""
        ...

    def email_text(self, email: int) -> EmailText | None:
        """The email's search and sort texts, if it has them."""
        ...

    def query_emails(
        self,
        account: int,
        where: Filter,
        sort: Sequence[Comparator],
        *,
        mailbox: int | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[int, int, int]]:
        """``(email, thread, uid)`` of the account's (or ``mailbox``'s) emails matching
        ``where`` in ``sort`` order, ties by email id; ``uid`` is 0 without ``mailbox``.
        Results equal :func:`kernel.store.filters.matches` applied to every email."""
        ...

    def count_emails(self, account: int, where: Filter, *, mailbox: int | None = None) -> int:
        """How many emails :meth:`query_emails` would return."""
        ...

    def count_threads(self, account: int, where: Filter) -> int:
        """How many distinct threads the emails :meth:`query_emails` would return are
        in (the length of a collapsed result, JMAP ``collapseThreads``)."""
        ...

    def mailbox_counts(self, mailbox: int, trash: int | None, threads: bool) -> MailboxCounts:
        """The mailbox's counts, from its counters; ``trash`` is the account's trash
        mailbox (RFC 8621 §2); thread counts (queried) only with ``threads``."""
        ...

    def members_changed_since(self, mailbox: int, since: int) -> list[Membership]:
        """Memberships whose modseq is above ``since`` (arrived, or keywords changed),
        in UID order."""
        ...

    def mailbox_keywords(self, mailbox: int) -> dict[int, frozenset[str]]:
        """The keywords of every email in the mailbox that has any, by email id."""
        ...

    def keywords_of(self, emails: Sequence[int]) -> dict[int, frozenset[str]]:
        """The keywords of those of ``emails`` that have any, by email id."""
        ...

    def email_rows(self, emails: Sequence[int]) -> dict[int, EmailRow]:
        """The rows of those of ``emails`` that exist, by id."""
        ...

    def email_contents(self, emails: Sequence[int]) -> dict[int, tuple[int, str, bytes | None]]:
        """``(account, blob id, bytes)`` of those of ``emails`` that exist, by id; the
        bytes are ``None`` when they live in the blob store, not in the database."""
        ...

    def expunged_since(self, mailbox: int, since: int) -> list[int]:
        """UIDs removed from the mailbox at a modseq above ``since``, ascending."""
        ...

    def log_floor(self, account: int) -> int:
        """The modseq up to which the account's log was pruned (0: never)."""
        ...

    def modseq_before(self, account: int, when: float) -> int:
        """The last modseq known to be allocated before time ``when`` (0: none)."""
        ...

    def acl(self, mailbox: int) -> list[tuple[int, str]]:
        """(principal, rights) granted on the mailbox, by principal."""
        ...

    def acl_grantees(self, mailboxes: Sequence[int]) -> list[tuple[int, int]]:
        """(mailbox, principal) of every grant with the ``l`` right on these mailboxes."""
        ...

    def shared_mailboxes(self, principal: int) -> list[tuple[Mailbox, str]]:
        """Mailboxes of other accounts on which ``principal`` has ``l``, with its rights."""
        ...

    def metadata_entries(self, mailbox: int, principal: int, name: str) -> list[tuple[str, bytes]]:
        """Entries named ``name`` or below it, of ``mailbox`` (0: the server) and
        ``principal`` (0: shared entries)."""
        ...

    def count_metadata(self, mailbox: int, principal: int) -> int:
        """How many entries ``mailbox`` has for ``principal`` (0: shared)."""
        ...


class WriteOps(ReadOps, Protocol):
    """Writes available inside :meth:`Backend.write`. Each raises
    :class:`~kernel.errors.StoreError` subclasses on constraint violations."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Executed:
        """Run one portable statement (see :class:`ReadOps`).

        A statement that fails ends the write function: let the error
        propagate (on PostgreSQL the transaction is aborted by then).

        Raises:
            DuplicateUid: it violated a unique constraint.
            NoSuchItem: it violated a foreign key.
        """
        ...

    def insert_principal(
        self, kind: str, name: str, role: str, quota: int, description: str, created: float
    ) -> int:
        """Create a principal; returns its id. Raises ``DuplicateUid`` if the name exists."""
        ...

    def update_principal(self, principal: int, **fields: object) -> None:
        """Set ``enabled``, ``role``, ``quota``, ``description`` or ``name``."""
        ...

    def set_secret(self, principal: int, secret_hash: str, scram: Collection[ScramSecret]) -> None:
        """Replace the principal's password hash and SCRAM keys.

        Args:
            scram: the keys for each hash (at most one per ``hash_name``); the keys of
                a hash not in it are cleared.

        Raises:
            NoSuchItem: no such principal.
        """
        ...

    def set_scram_secret(self, principal: int, scram: ScramSecret, *, secret_hash: str) -> bool:
        """Store the keys for ``scram.hash_name`` only, if the password is unchanged.

        Args:
            scram: keys derived from the password whose hash is ``secret_hash``.
            secret_hash: the password hash the keys belong to; nothing is written when
                the principal's hash is another (the password changed meanwhile).

        Returns:
            Whether the keys were stored.
        """
        ...

    def delete_principal(self, principal: int) -> None:
        """Delete a principal with its aliases, app passwords and tokens."""
        ...

    def insert_domain(self, name: str, created: float) -> None:
        """Add a local domain. Raises ``DuplicateUid`` if it exists."""
        ...

    def delete_domain(self, name: str) -> None:
        """Remove a local domain and the aliases in it."""
        ...

    def insert_alias(self, address: str, principal: int) -> None:
        """Point ``address`` (or ``@domain``) at a principal. ``DuplicateUid`` if taken."""
        ...

    def delete_alias(self, address: str) -> bool:
        """Remove an alias; False if there was none."""
        ...

    def insert_app_password(
        self, principal: int, name: str, secret_hash: str, created: float
    ) -> int:
        """Add an app password; returns its id. ``DuplicateUid`` if the name is taken."""
        ...

    def delete_app_password(self, principal: int, name: str) -> bool:
        """Revoke an app password by name; False if there was none."""
        ...

    def touch_app_password(self, password_id: int, when: float) -> None:
        """Record that an app password was used."""
        ...

    def insert_token(
        self, principal: int, name: str, digest: bytes, created: float, expires: float | None
    ) -> int:
        """Add a bearer token (only its digest is stored); returns its id."""
        ...

    def delete_token(self, principal: int, name: str) -> bool:
        """Revoke a token by name; False if there was none."""
        ...

    def bump_modseq(self, account: int) -> int:
        """Allocate the account's next change-log position.

        Called once per transaction that changes the account; the backend makes
        commit order equal modseq order (one writer on SQLite; a row lock on the
        account's state on PostgreSQL), so no reader sees N+1 before N.
        """
        ...

    def record_change(
        self,
        account: int,
        modseq: int,
        kind: str,
        item: int,
        *,
        created: bool = False,
        destroyed: bool = False,
    ) -> None:
        """Log that ``item`` of ``kind`` changed at ``modseq``.

        Logging the same item twice at one modseq merges the flags (an item
        updated and then destroyed in one transaction is logged destroyed).
        """
        ...

    def insert_mailbox(
        self,
        account: int,
        parent: int | None,
        name: str,
        role: str | None,
        sort_order: int,
        subscribed: bool,
        uidvalidity: int,
        modseq: int,
    ) -> int:
        """Create a mailbox; ``DuplicateUid`` if the name (under parent) or role is taken."""
        ...

    def update_mailbox(self, mailbox: int, **fields: object) -> None:
        """Set ``parent``, ``name``, ``role``, ``sort_order``, ``subscribed``, ``uidnext``
        or ``modseq``; ``DuplicateUid`` on a name or role clash."""
        ...

    def delete_mailbox(self, mailbox: int) -> None:
        """Delete a mailbox (the caller checked it has no children)."""
        ...

    def take_uid(self, mailbox: int, modseq: int, counts: tuple[int, int, int, int, int]) -> int:
        """Allocate the mailbox's next UID for a message arriving at ``modseq``.

        One statement increments ``uidnext``, sets the mailbox's ``modseq`` and adds
        ``counts`` (messages, bytes, seen, seen-or-draft, deleted) to its counters
        (see :meth:`adjust_mailbox_counts`); returns the UID, ``NoSuchItem`` if the
        mailbox is gone."""
        ...

    def put_blob(self, blob: str, data: bytes | None, created: float, size: int) -> None:
        """Store bytes under their SHA-256 id, or add a reference if already stored.

        ``data`` None records a blob whose ``size`` bytes are in the blob store
        (``blob_fs``), already written and durable."""
        ...

    def release_blob(self, blob: str) -> None:
        """Drop a reference; the bytes go with the last one."""
        ...

    def insert_email(self, row: EmailRow) -> int:
        """Create an email row; returns its id (never reused)."""
        ...

    def set_email_thread(self, email: int, thread: int) -> None:
        """Set an email's thread id."""
        ...

    def touch_email(self, email: int, modseq: int) -> None:
        """Record that an email changed at ``modseq``."""
        ...

    def delete_email(self, email: int) -> None:
        """Delete an email row with its keywords and memberships."""
        ...

    def add_keyword(self, email: int, keyword: str) -> bool:
        """Add a keyword; False if it was already set."""
        ...

    def remove_keyword(self, email: int, keyword: str) -> bool:
        """Remove a keyword; False if it was not set."""
        ...

    def insert_membership(self, membership: Membership) -> None:
        """Put an email in a mailbox under a UID; ``DuplicateUid`` if already there."""
        ...

    def touch_membership(self, mailbox: int, email: int, modseq: int) -> None:
        """Record that an email changed in a mailbox at ``modseq`` (IMAP MODSEQ)."""
        ...

    def delete_membership(self, mailbox: int, email: int, modseq: int) -> int | None:
        """Take an email out of a mailbox, leaving a tombstone of its UID at
        ``modseq``; returns the UID it had, or None."""
        ...

    def add_used(self, account: int, delta: int, messages: int = 0) -> None:
        """Adjust the bytes and the emails (``messages``) counted against the
        account's quotas (never below 0)."""
        ...

    def add_thread_refs(self, account: int, thread: int, message_ids: list[str]) -> None:
        """Index Message-IDs (own and referenced) under a thread."""
        ...

    def adjust_mailbox_counts(
        self, mailbox: int, messages: int, size: int, seen: int, seen_or_draft: int, deleted: int
    ) -> None:
        """Add these deltas to the mailbox's counters (see :meth:`ReadOps.mailbox_counts`)."""
        ...

    def add_blob_ref(self, blob: str) -> None:
        """Add a reference to a stored blob."""
        ...

    def insert_email_text(self, email: int, text: EmailText) -> None:
        """Store an email's search and sort texts (and index them)."""
        ...

    def copy_email_text(self, source: int, email: int) -> None:
        """Give ``email`` the texts of ``source``."""
        ...

    def prune_log(self, account: int, floor: int) -> None:
        """Delete the account's log entries and tombstones at or below ``floor``."""
        ...

    def set_acl(self, mailbox: int, principal: int, rights: str | None) -> None:
        """Set a principal's rights on a mailbox (None: remove the grant)."""
        ...

    def set_metadata(self, mailbox: int, principal: int, name: str, value: bytes | None) -> None:
        """Set or (None) remove an annotation."""
        ...

    def acquire_maildrop_lease(self, account: int, owner: str, expires: float, now: float) -> bool:
        """Take the account's maildrop lease (the POP3 lock) for ``owner`` until ``expires``.

        Args:
            account: the principal whose maildrop is locked.
            owner: who holds it (unique per session, e.g. ``host:pid:connection``).
            expires: when the lease runs out unless renewed (seconds since the epoch).
            now: the current time; a lease whose ``expires`` is before it is free.

        Returns:
            True if ``owner`` holds the lease now: there was none, it had expired
            (a crashed holder's is taken over), or ``owner`` already held it.
            False if another owner's unexpired lease stands (nothing changes).

        Raises:
            NoSuchItem: no such account.
        """
        ...

    def renew_maildrop_lease(self, account: int, owner: str, expires: float) -> bool:
        """Move ``owner``'s lease on the account's maildrop to ``expires``.

        Returns:
            False if ``owner`` does not hold it any more (released, or taken over
            by another owner after it expired); nothing changes then.
        """
        ...

    def release_maildrop_lease(self, account: int, owner: str) -> bool:
        """Drop ``owner``'s lease on the account's maildrop.

        Returns:
            False if ``owner`` did not hold it (another owner's lease stays).
        """
        ...


class Backend(Protocol):
    """A storage backend: runs functions of its operations."""

    async def read(self, fn: Callable[[ReadOps], T], *, small: bool = False) -> T:
        """Run ``fn`` in a worker thread against a consistent snapshot.

        ``small``: ``fn`` is a few indexed point lookups whose cost does not grow
        with the data (e.g. resolving one recipient); a backend may then run it on
        the calling thread, where it costs less than the trip to a worker thread.
        """
        ...

    async def write(self, fn: Callable[[WriteOps], T], *, small: bool = False) -> T:
        """Run ``fn`` as one atomic transaction; return once it is durable.

        If ``fn`` raises, nothing it did is kept and the exception propagates.
        The call is shielded from cancellation once submitted, so a caller always
        learns whether its write committed.

        ``small``: ``fn`` writes a bounded handful of rows (e.g. one appended
        message); a backend may then run it on the calling thread and hand only
        the commit's fsync to a worker thread. Never for work that grows with
        the data (deleting a mailbox, expunging many messages).
        """
        ...


class BlobStore(Protocol):
    """Where large blobs' bytes live (the ``blob`` backend, e.g. ``blob_fs``).

    The database keeps every blob's row and reference count; the blob store
    keeps bytes, content-addressed, and must make :meth:`put` durable before it
    returns, because the row that references the bytes commits after it.
    """

    async def put(self, data: bytes) -> str:
        """Store ``data`` durably; returns its SHA-256 hex id."""
        ...

    async def get(self, blob: str) -> bytes | None:
        """The bytes of ``blob``, if stored."""
        ...

    async def collect_garbage(
        self, referenced: Callable[[list[str]], Awaitable[set[str]]], *, grace: float | None = None
    ) -> Any:
        """Delete stored blobs that ``referenced`` does not name and that are older
        than the grace period."""
        ...
