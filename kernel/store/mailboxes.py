"""Mailboxes and the per-account change log.

Implementation notes:

* Every transaction that changes an account allocates the account's next
  modseq once (``ops.bump_modseq``) and logs each changed item under it; IMAP
  HIGHESTMODSEQ, JMAP states and DAV sync tokens all derive from this one log.
  After the commit, one :class:`~kernel.events.ChangeEvent` per kind is
  published (a hint; subscribers re-read :meth:`Mailboxes.changes`).
* Hierarchy is a parent pointer, so renaming or moving a mailbox takes its
  children along (RFC 9051 §6.3.6). Names are leaf names: no ``/`` (the IMAP
  hierarchy delimiter), no control characters; a top-level ``inbox`` in any
  case is ``INBOX`` (RFC 9051 §5.1).
* Sharing (RFC 4314): an owner grants rights on a mailbox to another
  principal; the grantee sees mailboxes where it has ``l``. A change to the
  ACL is a change of the mailbox in the owner's log. Checking rights before an
  operation is the protocol's job (:meth:`Mailboxes.rights`); the store
  records and answers. A grant to :data:`ANYONE` (principal 0, RFC 4314 §2
  ``anyone``) applies to every account: what a principal may do is the union
  of its own grant and anyone's.
* The change log may be pruned (:func:`prune_log`) up to a *floor*; asking for
  changes since a position below the floor answers ``cannot_calculate``.
* UIDVALIDITY is the account's modseq when the mailbox was created: strictly
  increasing, so a mailbox deleted and re-created under the same name never
  reuses one (RFC 9051 §2.3.1.1).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any, final

from kernel.errors import DuplicateUid, NoSuchItem, PreconditionFailed
from kernel.events import ChangeEvent
from kernel.store.interfaces import Backend, ReadOps, WriteOps
from kernel.store.mail_ops import remove_memberships
from kernel.store.mail_records import (
    ROLES,
    Changes,
    ChangesPage,
    Mailbox,
    PushSubscriptionRecord,
)

__all__ = [
    "ANYONE",
    "DELIMITER",
    "RIGHTS",
    "Mailboxes",
    "changes",
    "changes_page",
    "create_default_mailboxes",
    "prune_log",
]

DELIMITER = "/"
KIND = "mailbox"
#: The RFC 4314 §2.1 rights, in their canonical order; an owner has them all.
RIGHTS = "lrswipkxtea"
#: The grantee id of RFC 4314 §2's ``anyone`` (no principal has id 0).
ANYONE = 0
_ROLES = frozenset(role for role, _ in ROLES) | {"important", "all", "flagged", "subscribed"}
_UNSET: Any = object()


def _check_name(name: str, parent: int | None) -> str:
    name = unicodedata.normalize("NFC", name.strip())
    if not name or len(name) > 255:
        raise ValueError("a mailbox name must have 1 to 255 characters")
    if DELIMITER in name or any(unicodedata.category(c) == "Cc" for c in name):
        raise ValueError(f"a mailbox name may not contain {DELIMITER!r} or control characters")
    if parent is None and name.upper() == "INBOX":
        return "INBOX"  # RFC 9051 §5.1: INBOX is case-insensitive
    return name


def _create(
    ops: WriteOps,
    account: int,
    modseq: int,
    parent: int | None,
    name: str,
    role: str | None,
    subscribed: bool = True,
    sort_order: int = 0,
) -> int:
    mailbox = ops.insert_mailbox(
        account, parent, name, role, sort_order, subscribed, uidvalidity=modseq, modseq=modseq
    )
    ops.record_change(account, modseq, KIND, mailbox, created=True)
    return mailbox


def create_default_mailboxes(ops: WriteOps, account: int) -> int:
    """Create INBOX, Drafts, Sent, Junk, Trash and Archive; returns the modseq used."""
    modseq = ops.bump_modseq(account)
    for order, (role, name) in enumerate(ROLES):
        _create(ops, account, modseq, None, name, role, sort_order=order)
    return modseq


@final
class Mailboxes:
    """The mailbox part of the domain API.

    Args:
        backend: the store backend.
        publish: called with a change event after each committed change.
    """

    def __init__(
        self, backend: Backend, publish: Callable[[ChangeEvent], None] | None = None
    ) -> None:
        self._backend = backend
        self._publish = publish

    async def _write(
        self,
        account: int,
        fn: Callable[[WriteOps, int], Any],
        *,
        mailbox: int | None = None,
        notify_grantees: bool = False,
    ) -> Any:
        """Run ``fn(ops, modseq)`` with a freshly allocated modseq; publish after commit.

        Accounts ``mailbox`` is shared with (or, with ``notify_grantees``, the
        accounts ``fn`` returns) get a ``shared`` event too.
        """

        def transaction(ops: WriteOps) -> tuple[Any, int, list[int]]:
            modseq = ops.bump_modseq(account)
            grantees = [p for _, p in ops.acl_grantees([mailbox])] if mailbox else []
            result = fn(ops, modseq)
            if notify_grantees:
                grantees = list(result)
            return result, modseq, grantees

        result, modseq, grantees = await self._backend.write(transaction)
        if self._publish is not None:
            self._publish(ChangeEvent(account=str(account), kind=KIND, modseq=modseq))
            for grantee in grantees:
                self._publish(ChangeEvent(account=str(grantee), kind="shared", modseq=modseq))
        return result

    async def list(self, account: int) -> list[Mailbox]:
        """Every mailbox of ``account``, in creation order."""
        return await self._backend.read(lambda ops: ops.mailboxes(account))

    async def get(self, account: int, mailbox: int) -> Mailbox:
        """One mailbox; NoSuchItem if it is not this account's."""
        found = await self._backend.read(lambda ops: ops.mailbox(mailbox))
        if found is None or found.account != account:
            raise NoSuchItem(f"no mailbox {mailbox}")
        return found

    async def by_path(self, account: int, path: str) -> Mailbox | None:
        """The mailbox at ``path`` (``Archive/2024``), INBOX matched case-insensitively."""
        mailboxes = await self.list(account)
        return next((m for m in mailboxes if self.path(mailboxes, m) == _norm_path(path)), None)

    @staticmethod
    def path(mailboxes: list[Mailbox], mailbox: Mailbox) -> str:
        """The full name of ``mailbox`` with ``/`` between levels."""
        by_id = {m.id: m for m in mailboxes}
        parts = [mailbox.name]
        current = mailbox
        while current.parent is not None and current.parent in by_id:
            current = by_id[current.parent]
            parts.append(current.name)
        return DELIMITER.join(reversed(parts))

    async def create(
        self,
        account: int,
        name: str,
        *,
        parent: int | None = None,
        role: str | None = None,
        subscribed: bool = True,
        sort_order: int = 0,
    ) -> Mailbox:
        """Create a mailbox. Raises ValueError (bad name or role), DuplicateUid, NoSuchItem."""
        name = _check_name(name, parent)
        if role is not None and role not in _ROLES:
            raise ValueError(f"unknown mailbox role {role!r}")

        def create(ops: WriteOps, modseq: int) -> Mailbox:
            if parent is not None:
                _owned(ops, account, parent)
            mailbox = ops.mailbox(
                _create(ops, account, modseq, parent, name, role, subscribed, sort_order)
            )
            assert mailbox is not None
            return mailbox

        return await self._write(account, create)

    async def update(
        self,
        account: int,
        mailbox: int,
        *,
        name: str | None = None,
        parent: int | None = _UNSET,
        role: str | None = _UNSET,
        subscribed: bool | None = None,
        sort_order: int | None = None,
    ) -> Mailbox:
        """Rename, move (children follow), or change role, subscription or order."""

        def update(ops: WriteOps, modseq: int) -> Mailbox:
            current = _owned(ops, account, mailbox)
            fields: dict[str, object] = {"modseq": modseq}
            new_parent = current.parent if parent is _UNSET else parent
            if new_parent is not None and new_parent != current.parent:
                _owned(ops, account, new_parent)
                if _is_descendant(ops, new_parent, mailbox):
                    raise PreconditionFailed("a mailbox cannot move under itself")
            if name is not None or new_parent != current.parent:
                if current.role == "inbox":
                    raise PreconditionFailed("INBOX cannot be renamed or moved")
                fields["name"] = _check_name(name if name is not None else current.name, new_parent)
                fields["parent"] = new_parent
            if role is not _UNSET:
                if role is not None and role not in _ROLES:
                    raise ValueError(f"unknown mailbox role {role!r}")
                fields["role"] = role
            if subscribed is not None:
                fields["subscribed"] = subscribed
            if sort_order is not None:
                fields["sort_order"] = sort_order
            ops.update_mailbox(mailbox, **fields)
            ops.record_change(account, modseq, KIND, mailbox)
            updated = ops.mailbox(mailbox)
            assert updated is not None
            return updated

        return await self._write(account, update, mailbox=mailbox)

    async def delete(self, account: int, mailbox: int, *, remove_emails: bool = True) -> None:
        """Delete a mailbox without children; INBOX cannot be deleted.

        Its emails leave with it (RFC 9051 §6.3.5); an email held by no other
        mailbox is destroyed. With ``remove_emails=False`` a mailbox that still
        has emails is refused (JMAP ``mailboxHasEmail``).
        """

        def delete(ops: WriteOps, modseq: int) -> None:
            current = _owned(ops, account, mailbox)
            if current.role == "inbox":
                raise PreconditionFailed("INBOX cannot be deleted")  # RFC 9051 §6.3.5
            if any(m.parent == mailbox for m in ops.mailboxes(account)):
                raise DuplicateUid("the mailbox has children")  # JMAP mailboxHasChild
            members = [m.email for m in ops.mailbox_members(mailbox)]
            if members and not remove_emails:
                raise DuplicateUid("the mailbox has emails")  # JMAP mailboxHasEmail
            remove_memberships(ops, account, mailbox, members, modseq)
            ops.delete_mailbox(mailbox)
            ops.record_change(account, modseq, KIND, mailbox, destroyed=True)

        await self._write(account, delete, mailbox=mailbox)

    async def set_rights(self, account: int, mailbox: int, grantee: int, rights: str) -> None:
        """Grant ``grantee`` exactly ``rights`` on the owner's mailbox (empty: revoke)."""
        canonical = check_rights(rights)
        if grantee == account:
            raise PreconditionFailed("the owner's rights cannot be changed")

        def update(ops: WriteOps, modseq: int) -> list[int]:
            _owned(ops, account, mailbox)
            if grantee != ANYONE and ops.principal_by_id(grantee) is None:
                raise NoSuchItem(f"no principal {grantee}")
            before = [p for p, _ in ops.acl(mailbox)]
            ops.set_acl(mailbox, grantee, canonical or None)
            ops.update_mailbox(mailbox, modseq=modseq)
            ops.record_change(account, modseq, KIND, mailbox)
            return sorted({*before, grantee})

        affected: list[int] = await self._write(account, update, notify_grantees=True)
        del affected

    async def acl(self, account: int, mailbox: int) -> dict[int, str]:
        """The mailbox's grants (principal to rights), the owner's implicit ones excluded."""

        def read(ops: ReadOps) -> dict[int, str]:
            _owned(ops, account, mailbox)
            return dict(ops.acl(mailbox))

        return await self._backend.read(read)

    async def rights(self, principal: int, mailbox: int) -> str:
        """What ``principal`` may do on ``mailbox``: all of :data:`RIGHTS` for its owner."""

        def read(ops: ReadOps) -> str:
            found = ops.mailbox(mailbox)
            if found is None:
                raise NoSuchItem(f"no mailbox {mailbox}")
            if found.account == principal:
                return RIGHTS
            grants = dict(ops.acl(mailbox))
            return _union(grants.get(principal, ""), grants.get(ANYONE, ""))

        return await self._backend.read(read)

    async def shared_with(self, principal: int) -> list[tuple[Mailbox, str]]:
        """Other accounts' mailboxes ``principal`` may see (has ``l`` on), with its rights
        (its own grant joined with ``anyone``'s, RFC 4314 §2)."""

        def read(ops: ReadOps) -> list[tuple[Mailbox, str]]:
            found = {m.id: (m, rights) for m, rights in ops.shared_mailboxes(principal)}
            for mailbox, rights in ops.shared_mailboxes(ANYONE):
                if mailbox.account == principal:
                    continue
                own = dict(ops.acl(mailbox.id)).get(principal, "")
                found[mailbox.id] = (mailbox, _union(own, rights))
            return [found[m] for m in sorted(found)]

        return await self._backend.read(read)

    async def changes(self, account: int, since: int) -> Changes:
        """Mailboxes created, updated and destroyed after change-log position ``since``."""
        return await self._backend.read(lambda ops: changes(ops, account, KIND, since))

    # ---- reads for JMAP (added for the jmap plugin) ---------------------------

    async def changes_page(
        self,
        account: int,
        kind: str,
        since: int,
        limit: int | None = None,
        *,
        companion: str | None = None,
        skip: int = 0,
    ) -> ChangesPage:
        """Changes of ``kind`` after ``since``, at most ``limit`` distinct items
        (RFC 8620 §5.2 ``maxChanges``); see :func:`changes_page` for ``skip`` and
        :class:`ChangesPage` for ``companion`` and partial pages.
        """
        return await self._backend.read(
            lambda ops: changes_page(ops, account, kind, since, limit, companion, skip)
        )

    async def email_ids_by_blob(self, account: int, blob: str) -> list[int]:
        """The account's emails whose raw message is blob ``blob`` (JMAP blob ids)."""
        rows = await self._backend.read(
            lambda ops: ops.select(
                "SELECT id FROM emails WHERE account = ? AND blob = ? ORDER BY id",
                (account, blob),
            )
        )
        return [int(row[0]) for row in rows]

    async def thread_members(self, account: int, threads: list[int]) -> dict[int, list[int]]:
        """The account's email ids per thread, oldest received first (JMAP Thread/get).

        Threads without emails are absent from the answer.
        """
        wanted = list(dict.fromkeys(threads))

        def read(ops: ReadOps) -> dict[int, list[int]]:
            out: dict[int, list[int]] = {}
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                rows = ops.select(
                    f"SELECT thread, id FROM emails WHERE account = ? AND thread IN ({marks}) "
                    "ORDER BY received_at, id",
                    (account, *chunk),
                )
                for thread, email in rows:
                    out.setdefault(int(thread), []).append(int(email))
            return out

        return await self._backend.read(read)

    # ---- JMAP push subscriptions (RFC 8620 §7.2; added for the jmap plugin) ----------

    async def push_subscriptions(self, account: int | None) -> list[PushSubscriptionRecord]:
        """The principal's push subscriptions (every principal's with ``None``), by id."""
        where, params = ("WHERE account = ?", (account,)) if account is not None else ("", ())
        rows = await self._backend.read(
            lambda ops: ops.select(
                f"SELECT {_PUSH_COLUMNS} FROM push_subscriptions {where} ORDER BY id", params
            )
        )
        return [_push_record(row) for row in rows]

    async def add_push_subscription(
        self,
        account: int,
        *,
        device_client_id: str,
        url: str,
        keys: str | None,
        verification_code: str,
        expires: float | None,
        types: str | None,
        now: float,
    ) -> PushSubscriptionRecord:
        """Record a new, unverified push subscription."""

        def write(ops: WriteOps) -> PushSubscriptionRecord:
            executed = ops.execute(
                "INSERT INTO push_subscriptions (account, device_client_id, url, keys, "
                "verification_code, verified, expires, types, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    account,
                    device_client_id,
                    url,
                    keys,
                    verification_code,
                    False,
                    expires,
                    types,
                    now,
                ),
            )
            new_id = int(executed.rows[0][0])
            rows = ops.select(
                f"SELECT {_PUSH_COLUMNS} FROM push_subscriptions WHERE id = ?", (new_id,)
            )
            return _push_record(rows[0])

        return await self._backend.write(write)

    async def update_push_subscription(
        self,
        account: int,
        subscription: int,
        *,
        verified: bool | None = None,
        expires: float | None = _UNSET,
        types: str | None = _UNSET,
    ) -> PushSubscriptionRecord:
        """Change a subscription's verification, expiry or types; NoSuchItem if not the
        principal's."""
        fields: dict[str, object] = {}
        if verified is not None:
            fields["verified"] = verified
        if expires is not _UNSET:
            fields["expires"] = expires
        if types is not _UNSET:
            fields["types"] = types

        def write(ops: WriteOps) -> PushSubscriptionRecord:
            rows = ops.select(
                f"SELECT {_PUSH_COLUMNS} FROM push_subscriptions WHERE id = ? AND account = ?",
                (subscription, account),
            )
            if not rows:
                raise NoSuchItem(f"no push subscription {subscription}")
            if fields:
                assignments = ", ".join(f"{name} = ?" for name in fields)
                ops.execute(
                    f"UPDATE push_subscriptions SET {assignments} WHERE id = ?",
                    (*fields.values(), subscription),
                )
                rows = ops.select(
                    f"SELECT {_PUSH_COLUMNS} FROM push_subscriptions WHERE id = ?", (subscription,)
                )
            return _push_record(rows[0])

        return await self._backend.write(write)

    async def delete_push_subscription(self, account: int, subscription: int) -> bool:
        """Forget a subscription (its URL and keys with it); False if not the principal's."""
        executed = await self._backend.write(
            lambda ops: ops.execute(
                "DELETE FROM push_subscriptions WHERE id = ? AND account = ?",
                (subscription, account),
            )
        )
        return executed.rowcount > 0

    async def delete_expired_push_subscriptions(self, now: float) -> int:
        """Forget every subscription whose expiry has passed; returns how many."""
        executed = await self._backend.write(
            lambda ops: ops.execute(
                "DELETE FROM push_subscriptions WHERE expires IS NOT NULL AND expires < ?", (now,)
            )
        )
        return executed.rowcount

    async def thread_ids(self, account: int, limit: int) -> list[int]:
        """Up to ``limit`` of the account's thread ids, ascending (JMAP Thread/get ids: null)."""
        rows = await self._backend.read(
            lambda ops: ops.select(
                "SELECT DISTINCT thread FROM emails WHERE account = ? ORDER BY thread LIMIT ?",
                (account, limit),
            )
        )
        return [int(row[0]) for row in rows]

    async def log_state(self, account: int) -> tuple[int, int]:
        """The account's change-log position and floor (older positions cannot be answered)."""
        return await self._backend.read(
            lambda ops: (ops.current_modseq(account), ops.log_floor(account))
        )


def changes(ops: ReadOps, account: int, kind: str, since: int) -> Changes:
    """Fold the log into created/updated/destroyed sets (RFC 8620 §5.2 semantics)."""
    state = ops.current_modseq(account)
    if since < 0 or since > state or since < ops.log_floor(account):
        return Changes(since=since, state=state, cannot_calculate=True)
    created: dict[int, None] = {}
    updated: dict[int, None] = {}
    destroyed: dict[int, None] = {}
    for _modseq, item, was_created, was_destroyed in ops.changes_since(account, kind, since):
        if was_destroyed:
            if item in created:
                del created[item]  # created and destroyed since: never seen
            else:
                updated.pop(item, None)
                destroyed[item] = None
        elif was_created:
            created[item] = None
        elif item not in created:
            updated[item] = None
    return Changes(
        since=since,
        state=state,
        created=tuple(created),
        updated=tuple(updated),
        destroyed=tuple(destroyed),
    )


def prune_log(ops: WriteOps, account: int, before: float) -> int:
    """Forget the account's changes logged before time ``before``; returns the new floor.

    The floor is the last modseq allocated before ``before`` (to the precision
    of the backend's time marks); entries and expunge tombstones at or below it
    are deleted, and changes since an older position become incalculable.
    """
    floor = ops.modseq_before(account, before)
    if floor > ops.log_floor(account):
        ops.prune_log(account, floor)
    return ops.log_floor(account)


def _union(*rights: str) -> str:
    """The rights of several grants together, in canonical order."""
    joined = set("".join(rights))
    return "".join(r for r in RIGHTS if r in joined)


def check_rights(rights: str) -> str:
    """``rights`` in canonical order; ValueError for a letter RFC 4314 does not define."""
    unknown = set(rights) - set(RIGHTS)
    if unknown:
        raise ValueError(f"unknown rights {''.join(sorted(unknown))!r}")
    return "".join(r for r in RIGHTS if r in rights)


def _owned(ops: ReadOps, account: int, mailbox: int) -> Mailbox:
    found = ops.mailbox(mailbox)
    if found is None or found.account != account:
        raise NoSuchItem(f"no mailbox {mailbox}")
    return found


def _is_descendant(ops: ReadOps, candidate: int, ancestor: int) -> bool:
    current: int | None = candidate
    seen = set()
    while current is not None and current not in seen:
        if current == ancestor:
            return True
        seen.add(current)
        found = ops.mailbox(current)
        current = found.parent if found else None
    return False


def _norm_path(path: str) -> str:
    head, sep, rest = path.partition(DELIMITER)
    return ("INBOX" if head.upper() == "INBOX" else head) + sep + rest


def changes_page(
    ops: ReadOps,
    account: int,
    kind: str,
    since: int,
    limit: int | None,
    companion: str | None = None,
    skip: int = 0,
) -> ChangesPage:
    """Fold the log after ``since`` like :func:`changes`, at most ``limit`` distinct items.

    The log is read in (modseq, item) order. ``skip`` drops the first entries of
    modseq ``since + 1`` (a page that ended inside that transaction reported them
    already). A page that ends inside a transaction says so with
    ``ChangesPage.partial``: the entries of modseq ``changes.state`` it covered.
    """
    state = ops.current_modseq(account)
    if since < 0 or since > state or since < ops.log_floor(account) or skip < 0:
        return ChangesPage(Changes(since=since, state=state, cannot_calculate=True), False)
    entries = ops.changes_since(account, kind, since)
    first = since + 1
    skipped = 0
    while skipped < skip and skipped < len(entries) and entries[skipped][0] == first:
        skipped += 1
    entries = entries[skipped:]
    cut, has_more, partial = state, False, 0
    if limit is not None:
        items: set[int] = set()
        for index, (_modseq, item, _c, _d) in enumerate(entries):
            if item not in items and len(items) >= limit:
                has_more = True
                next_modseq = entries[index][0]
                if index and entries[index - 1][0] == next_modseq:
                    cut = next_modseq
                    partial = sum(1 for e in entries[:index] if e[0] == next_modseq)
                    partial += skipped if next_modseq == first else 0
                else:
                    cut = entries[index - 1][0] if index else since
                entries = entries[:index]
                break
            items.add(item)
    created: dict[int, None] = {}
    updated: dict[int, None] = {}
    destroyed: dict[int, None] = {}
    update_modseqs: set[int] = set()
    for modseq, item, was_created, was_destroyed in entries:
        if was_destroyed:
            if item in created:
                del created[item]
            else:
                updated.pop(item, None)
                destroyed[item] = None
        elif was_created:
            created[item] = None
        elif item not in created:
            updated[item] = None
            update_modseqs.add(modseq)
    with_companion = False
    if companion is not None and updated:
        companion_modseqs = {m for m, *_ in ops.changes_since(account, companion, since)}
        with_companion = update_modseqs <= companion_modseqs
    return ChangesPage(
        Changes(
            since=since,
            state=cut,
            created=tuple(created),
            updated=tuple(updated),
            destroyed=tuple(destroyed),
        ),
        has_more,
        with_companion,
        partial,
    )


_PUSH_COLUMNS = (
    "id, account, device_client_id, url, keys, verification_code, verified, expires, types, created"
)


def _push_record(row: tuple[Any, ...]) -> PushSubscriptionRecord:
    i, account, device, url, keys, code, verified, expires, types, created = row
    return PushSubscriptionRecord(
        int(i),
        int(account),
        device,
        url,
        keys,
        code,
        bool(verified),
        None if expires is None else float(expires),
        types,
        float(created),
    )
