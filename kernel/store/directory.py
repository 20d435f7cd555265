"""The directory: domains, accounts, groups, aliases and their secrets.

Implementation notes:

* Names are addresses (``user@example.org``, lower-cased, in a local domain) or
  bare login names without ``@`` (such as the first ``admin``), which can log in
  but receive no mail.
* Passwords are hashed with argon2id (argon2-cffi) in a worker thread, never on
  the store's writer thread, over their SASLprep'd form (RFC 4616 §2); SCRAM keys
  for SHA-256 (RFC 7677) and SHA-1 (RFC 5802) are derived at the same time so SCRAM
  works without the plaintext (none are stored for a password SCRAM cannot
  represent, RFC 5802 §2.2).
* SCRAM-SHA-1 keys exist only since store migration 11: an account whose password
  was set before has none, so SCRAM-SHA-1 fails for it (as for an unknown user).
  They are derived and stored at its next successful password login (PLAIN,
  LOGIN, IMAP LOGIN, POP3 PASS, HTTP Basic), when the plaintext is at hand, and
  only if the password hash is still the one just verified.
* App passwords are argon2 hashes too, without SCRAM keys (they serve PLAIN,
  LOGIN and HTTP Basic logins); bearer tokens are random and stored as SHA-256
  digests, so a stolen database reveals no usable secret.
* Nothing is cached: every lookup reads the store, so a change made by the CLI
  in another process applies at once.
* Recipient resolution (RFC 5321 §4.5.1: ``postmaster`` is always accepted):
  exact principal, exact alias, then the same without a ``+tag`` subaddress,
  then the domain's catch-all (``@domain``), then ``postmaster@`` any local
  domain goes to the first administrator.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import final

import argon2
import trio

from kernel.errors import DuplicateUid, NoSuchItem
from kernel.sasl import SCRAM_HASHES, derive_scram_keys, saslprep
from kernel.specs import AuthResult
from kernel.store.interfaces import Backend, ReadOps, WriteOps
from kernel.store.mail_ops import remove_memberships
from kernel.store.mailboxes import create_default_mailboxes
from kernel.store.records import AppPassword, Domain, Principal, ScramSecret, Token
from kernel.store.verified import VerifiedSecrets

__all__ = ["Directory", "InvalidName", "normalize_address"]

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_LOCAL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class InvalidName(ValueError):
    """A domain, address or login name that is not acceptable."""


def normalize_address(address: str) -> str:
    """Lower-case and strip an address or login name (no validation)."""
    return address.strip().lower()


def _check_domain(name: str) -> str:
    name = normalize_address(name).rstrip(".")
    if not _DOMAIN.match(name):
        raise InvalidName(f"{name!r} is not a domain name")
    return name


def _split(address: str) -> tuple[str, str]:
    local, _, domain = address.rpartition("@")
    return local, domain


@final
class Directory:
    """The directory's domain API over a store backend.

    Args:
        backend: the store backend.
        hasher: the argon2 hasher (tests pass a cheap one).
        clock: seconds since the epoch.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        hasher: argon2.PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._backend = backend
        self._hasher = hasher or argon2.PasswordHasher()
        self._clock = clock
        self._verified = VerifiedSecrets(clock=clock)

    # ---- domains -----------------------------------------------------------

    async def add_domain(self, name: str) -> Domain:
        """Make ``name`` a local domain. Raises DuplicateUid, InvalidName."""
        name = _check_domain(name)
        created = self._clock()
        await self._backend.write(lambda ops: ops.insert_domain(name, created))
        return Domain(name, created)

    async def domains(self) -> list[Domain]:
        return await self._backend.read(lambda ops: ops.domains())

    async def is_local_domain(self, name: str) -> bool:
        name = normalize_address(name).rstrip(".")
        return await self._backend.read(lambda ops: ops.domain(name)) is not None

    async def delete_domain(self, name: str) -> None:
        """Remove a local domain (and its aliases). Refused while accounts use it."""
        name = normalize_address(name)

        def delete(ops: WriteOps) -> None:
            users = [p.name for p in ops.principals() if _split(p.name)[1] == name]
            if users:
                raise DuplicateUid(f"domain {name} still has principals: {', '.join(users)}")
            ops.delete_domain(name)

        await self._backend.write(delete)

    # ---- principals --------------------------------------------------------

    async def _check_principal_name(self, name: str) -> str:
        name = normalize_address(name)
        if "@" not in name:
            if not _LOGIN.match(name):
                raise InvalidName(f"{name!r} is not a login name (a-z, 0-9, '.', '_', '-')")
            return name
        local, domain = _split(name)
        if not _LOCAL.match(local) or local.startswith(".") or ".." in local:
            raise InvalidName(f"{name!r} is not an address")
        if not await self.is_local_domain(domain):
            raise InvalidName(f"{domain} is not a local domain (add it first)")
        return name

    async def add_account(
        self,
        name: str,
        password: str | None = None,
        *,
        role: str = "user",
        quota: int = 0,
        description: str = "",
        kind: str = "individual",
        quota_messages: int = 0,
    ) -> Principal:
        """Create an account (or a group with ``kind="group"``); ``quota`` limits its
        bytes, ``quota_messages`` its emails (0: unlimited)."""
        name = await self._check_principal_name(name)
        secret = await self._hash(password) if password is not None else None
        created = self._clock()

        def create(ops: WriteOps) -> Principal:
            if ops.alias_target(name) is not None:
                raise DuplicateUid(f"{name} is already an alias")
            pid = ops.insert_principal(kind, name, role, quota, description, created)
            if quota_messages:
                ops.update_principal(pid, quota_messages=quota_messages)
            if secret is not None:
                ops.set_secret(pid, *secret)
            if kind == "individual":
                create_default_mailboxes(ops, pid)  # RFC 8621 §2: roles a client expects
            principal = ops.principal_by_id(pid)
            assert principal is not None
            return principal

        return await self._backend.write(create)

    async def principal(self, name: str) -> Principal | None:
        name = normalize_address(name)
        return await self._backend.read(lambda ops: ops.principal_by_name(name))

    async def names(self, ids: Iterable[int]) -> dict[int, str]:
        """The names (primary addresses) of those of the principals ``ids`` that exist."""
        wanted = list(ids)

        def read(ops: ReadOps) -> dict[int, str]:
            found = (ops.principal_by_id(i) for i in wanted)
            return {p.id: p.name for p in found if p is not None}

        return await self._backend.read(read)

    async def principals(self, kind: str | None = None) -> list[Principal]:
        return await self._backend.read(lambda ops: ops.principals(kind))

    async def has_principals(self) -> bool:
        return await self._backend.read(lambda ops: ops.count_principals()) > 0

    async def _require(self, name: str) -> Principal:
        principal = await self.principal(name)
        if principal is None:
            raise NoSuchItem(f"no account {normalize_address(name)}")
        return principal

    async def set_password(self, name: str, password: str) -> None:
        principal = await self._require(name)
        secret = await self._hash(password)
        await self._backend.write(lambda ops: ops.set_secret(principal.id, *secret))

    async def update(self, name: str, **fields: object) -> Principal:
        """Change ``quota``, ``quota_messages``, ``enabled``, ``role`` or ``description``."""
        principal = await self._require(name)

        def update(ops: WriteOps) -> Principal:
            ops.update_principal(principal.id, **fields)
            updated = ops.principal_by_id(principal.id)
            assert updated is not None
            return updated

        return await self._backend.write(update)

    async def delete_account(self, name: str) -> None:
        """Delete an account with its mailboxes and emails (releasing their blobs)."""
        principal = await self._require(name)

        def delete(ops: WriteOps) -> None:
            modseq = ops.bump_modseq(principal.id)
            for mailbox in ops.mailboxes(principal.id):
                members = [m.email for m in ops.mailbox_members(mailbox.id)]
                remove_memberships(ops, principal.id, mailbox.id, members, modseq)
            ops.delete_principal(principal.id)

        await self._backend.write(delete)

    # ---- aliases -----------------------------------------------------------

    async def add_alias(self, address: str, target: str) -> None:
        """Deliver mail for ``address`` (or ``@domain``, a catch-all) to ``target``."""
        address = normalize_address(address)
        local, domain = _split(address)
        if not domain or (local and not _LOCAL.match(local)):
            raise InvalidName(f"{address!r} is not an address or @domain")
        if not await self.is_local_domain(domain):
            raise InvalidName(f"{domain} is not a local domain")
        principal = await self._require(target)

        def create(ops: WriteOps) -> None:
            if ops.principal_by_name(address) is not None:
                raise DuplicateUid(f"{address} is an account")
            ops.insert_alias(address, principal.id)

        await self._backend.write(create)

    async def delete_alias(self, address: str) -> None:
        address = normalize_address(address)
        if not await self._backend.write(lambda ops: ops.delete_alias(address)):
            raise NoSuchItem(f"no alias {address}")

    async def aliases(self, target: str | None = None) -> list[tuple[str, str]]:
        """(alias, target name) pairs, all or those of ``target``."""
        owner = (await self._require(target)).id if target is not None else None

        def read(ops: ReadOps) -> list[tuple[str, str]]:
            names = {p.id: p.name for p in ops.principals()}
            return [(address, names[pid]) for address, pid in ops.aliases(owner)]

        return await self._backend.read(read)

    async def resolve_recipient(self, address: str) -> Principal | None:
        """The principal mail for ``address`` is delivered to, or None."""
        address = normalize_address(address)
        local, domain = _split(address)
        if not local or not domain:
            return None
        return await self._backend.read(lambda ops: _resolve(ops, local, domain), small=True)

    # ---- authentication ----------------------------------------------------

    async def authenticate(self, login: str, password: str) -> AuthResult | None:
        """Check a password or an app password; None if the login is unknown."""
        login = normalize_address(login)

        def read(
            ops: ReadOps,
        ) -> tuple[Principal, str | None, list[tuple[AppPassword, str]], bool] | None:
            principal = ops.principal_by_name(login)
            if principal is None:
                return None
            missing_sha1 = ops.scram_secret(principal.id, "sha1") is None
            hashed = ops.secret_hash(principal.id)
            return principal, hashed, ops.app_passwords(principal.id), missing_sha1

        found = await self._backend.read(read)
        if found is None:
            return None
        principal, secret_hash, app_passwords, missing_sha1 = found
        if not principal.enabled:
            return AuthResult(ok=False, account=principal.name, reason="account disabled")
        candidates: list[tuple[str, AppPassword | None]] = [
            *([(secret_hash, None)] if secret_hash is not None else []),
            *((digest, app_password) for app_password, digest in app_passwords),
        ]
        # Recently verified pairs first (cheap), then argon2 for each in turn.
        prepared = _prepare(password)
        matched = next(((d, a) for d, a in candidates if self._verified.known(d, prepared)), None)
        if matched is None:
            for digest, app_password in candidates:
                if await self._verified.check(
                    digest,
                    prepared,
                    lambda d=digest: self._verify(d, password),
                ):
                    matched = (digest, app_password)
                    break
        if matched is not None:
            digest, app_password = matched
            self._verified.remember(digest, prepared)
            if app_password is None:
                if missing_sha1:
                    await self._add_scram_sha1(principal.id, digest, password)
                return AuthResult(ok=True, account=principal.name)
            used_id, when = app_password.id, self._clock()
            await self._backend.write(lambda ops: ops.touch_app_password(used_id, when))
            return AuthResult(
                ok=True, account=principal.name, attributes={"app_password": app_password.name}
            )
        return AuthResult(ok=False, account=principal.name, reason="invalid credentials")

    async def scram_secret(self, login: str, hash_name: str = "sha256") -> ScramSecret | None:
        """SCRAM keys for ``hash_name`` (``sha256``, ``sha1``) of an enabled account."""
        login = normalize_address(login)

        def read(ops: ReadOps) -> ScramSecret | None:
            principal = ops.principal_by_name(login)
            if principal is None or not principal.enabled:
                return None
            return ops.scram_secret(principal.id, hash_name)

        return await self._backend.read(read)

    async def scram_secrets(self, login: str) -> list[ScramSecret]:
        """Every SCRAM key set of an enabled account (empty: unknown, disabled or none)."""
        login = normalize_address(login)

        def read(ops: ReadOps) -> list[ScramSecret]:
            principal = ops.principal_by_name(login)
            if principal is None or not principal.enabled:
                return []
            found = (ops.scram_secret(principal.id, name) for name in SCRAM_HASHES.values())
            return [keys for keys in found if keys is not None]

        return await self._backend.read(read)

    async def add_app_password(self, login: str, name: str) -> str:
        """Create an app password; returns the generated secret (shown once)."""
        principal = await self._require(login)
        secret = "-".join(secrets.token_urlsafe(6) for _ in range(4))
        digest = await trio.to_thread.run_sync(self._hasher.hash, secret)
        created = self._clock()
        await self._backend.write(
            lambda ops: ops.insert_app_password(principal.id, name, digest, created)
        )
        return secret

    async def app_passwords(self, login: str) -> list[AppPassword]:
        principal = await self._require(login)
        return [p for p, _ in await self._backend.read(lambda ops: ops.app_passwords(principal.id))]

    async def revoke_app_password(self, login: str, name: str) -> None:
        principal = await self._require(login)
        if not await self._backend.write(lambda ops: ops.delete_app_password(principal.id, name)):
            raise NoSuchItem(f"no app password {name!r} for {principal.name}")

    async def add_token(self, login: str, name: str, *, lifetime: float | None = None) -> str:
        """Create a bearer token; returns it (shown once; only its digest is stored)."""
        principal = await self._require(login)
        token = secrets.token_urlsafe(32)
        digest = hashlib.sha256(token.encode()).digest()
        created = self._clock()
        expires = created + lifetime if lifetime else None
        await self._backend.write(
            lambda ops: ops.insert_token(principal.id, name, digest, created, expires)
        )
        return token

    async def tokens(self, login: str) -> list[Token]:
        principal = await self._require(login)
        return await self._backend.read(lambda ops: ops.tokens(principal.id))

    async def revoke_token(self, login: str, name: str) -> None:
        principal = await self._require(login)
        if not await self._backend.write(lambda ops: ops.delete_token(principal.id, name)):
            raise NoSuchItem(f"no token {name!r} for {principal.name}")

    async def verify_token(self, token: str, login: str | None = None) -> AuthResult | None:
        """Check a bearer token (and that it belongs to ``login`` if given)."""
        digest = hashlib.sha256(token.encode()).digest()

        def read(ops: ReadOps) -> tuple[Token, Principal | None] | None:
            found = ops.token_by_digest(digest)
            return (found, ops.principal_by_id(found.principal)) if found else None

        found = await self._backend.read(read)
        if found is None:
            return None
        record, principal = found
        if principal is None or (login is not None and normalize_address(login) != principal.name):
            return None
        if record.expires is not None and record.expires < self._clock():
            return AuthResult(ok=False, account=principal.name, reason="token expired")
        if not principal.enabled:
            return AuthResult(ok=False, account=principal.name, reason="account disabled")
        return AuthResult(ok=True, account=principal.name, attributes={"token": record.name})

    # ---- helpers -----------------------------------------------------------

    async def _hash(self, password: str) -> tuple[str, list[ScramSecret]]:
        if not password:
            raise InvalidName("the password is empty")

        def work() -> tuple[str, list[ScramSecret]]:
            scram = [_scram_secret(password, name) for name in SCRAM_HASHES.values()]
            return self._hasher.hash(_prepare(password)), [k for k in scram if k is not None]

        return await trio.to_thread.run_sync(work)

    async def _add_scram_sha1(self, principal: int, digest: str, password: str) -> None:
        """Store SCRAM-SHA-1 keys for a password set before migration 11 (module notes)."""
        keys = await trio.to_thread.run_sync(_scram_secret, password, "sha1")
        if keys is not None:
            await self._backend.write(
                lambda ops: ops.set_scram_secret(principal, keys, secret_hash=digest)
            )

    async def _verify(self, digest: str, password: str) -> bool:
        def work() -> bool:
            try:
                return self._hasher.verify(digest, _prepare(password))
            except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
                return False

        return await trio.to_thread.run_sync(work)


def _scram_secret(password: str, hash_name: str) -> ScramSecret | None:
    try:
        keys = derive_scram_keys(password, hash_name=hash_name)
    except ValueError:
        # RFC 5802 §2.2: SCRAM cannot carry this password (prohibited or unassigned
        # characters); PLAIN and LOGIN still work.
        return None
    return ScramSecret(keys.salt, keys.iterations, keys.stored_key, keys.server_key, hash_name)


def _prepare(password: str) -> str:
    """The form a password is hashed in: SASLprep'd (RFC 4616 §2), as SASL gives it.

    Passwords from SASL arrive prepared and those from plain login commands do
    not; preparing both (SASLprep is idempotent) makes them compare equal.
    """
    try:
        return saslprep(password, allow_unassigned=True)
    except ValueError:
        return password


def _resolve(ops: ReadOps, local: str, domain: str) -> Principal | None:
    if ops.domain(domain) is None:
        return None
    candidates = [f"{local}@{domain}"]
    base, plus, _tag = local.partition("+")
    if plus and base:
        candidates.append(f"{base}@{domain}")  # RFC 5233 subaddress: user+tag@
    for address in candidates:
        principal = ops.principal_by_name(address)
        if principal is not None:
            return principal
        target = ops.alias_target(address)
        if target is not None:
            return ops.principal_by_id(target)
    target = ops.alias_target(f"@{domain}")
    if target is not None:
        return ops.principal_by_id(target)
    if base == "postmaster" or local == "postmaster":
        # RFC 5321 §4.5.1: every domain must accept mail for postmaster.
        admins = [p for p in ops.principals("individual") if p.is_admin and p.enabled]
        if admins:
            return min(admins, key=lambda p: p.id)
    return None
