"""Hooks of the ``directory`` plugin.

Authentication against the store's directory (passwords, app passwords,
bearer tokens) with failure throttling; the first administrator account on a
new store; and the ``domain``, ``account`` and ``alias`` commands.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Awaitable, Callable

import trio

from kernel import AuthResult, CommandSpec, Credentials, Kernel, Option, Section, hookimpl
from kernel.sasl import ScramKeys
from kernel.stash import StashKey
from kernel.store.directory import Directory, normalize_address
from plugins.directory.commands import COMMANDS
from plugins.directory.throttle import FailureThrottle

THROTTLE: StashKey[FailureThrottle] = StashKey()


@hookimpl
def stalwart_register_config_sections() -> list[Section]:
    return [
        Section(
            "directory",
            "Accounts kept in the store, and how logins are checked.",
            (
                Option(
                    "first_admin",
                    "string",
                    "admin",
                    "Login of the administrator created (with a generated password, "
                    "printed once) when the store has no accounts.",
                ),
                Option(
                    "throttle.window",
                    "duration",
                    "15m",
                    "Window in which authentication failures are counted.",
                ),
                Option(
                    "throttle.max_failures_per_ip",
                    "integer",
                    20,
                    "Failures from one address in the window before its logins are "
                    "refused unchecked.",
                    schema={"minimum": 1},
                ),
                Option(
                    "throttle.max_failures_per_account",
                    "integer",
                    10,
                    "Failures for one account in the window before its logins are "
                    "refused unchecked.",
                    schema={"minimum": 1},
                ),
            ),
        )
    ]


@hookimpl
def stalwart_required_backends() -> list[str]:
    return ["store"]


@hookimpl
def stalwart_register_commands() -> list[CommandSpec]:
    return COMMANDS


def _throttle(kernel: Kernel) -> FailureThrottle:
    window = kernel.config["directory"]["throttle"]["window"]
    return kernel.stash.setdefault(THROTTLE, FailureThrottle(window, time.monotonic))


@hookimpl
def stalwart_authenticate(
    kernel: Kernel, credentials: Credentials
) -> Callable[[], Awaitable[AuthResult | None]]:
    async def check() -> AuthResult | None:
        limits = kernel.config["directory"]["throttle"]
        throttle = _throttle(kernel)
        login = (credentials.username or "").strip().lower()
        ip_key, account_key = f"ip:{credentials.remote}", f"account:{login}"
        if throttle.blocked(ip_key, limits["max_failures_per_ip"]) or (
            login and throttle.blocked(account_key, limits["max_failures_per_account"])
        ):
            await trio.lowlevel.checkpoint()
            return AuthResult(ok=False, account=login or None, reason="too many failures")
        directory = kernel.store.directory
        if credentials.kind == "scram":
            # The SASL engine checks the proof; a wrong one comes back through
            # stalwart_login_failed, so nothing is counted here.
            return await _scram_lookup(directory, login)
        if credentials.kind == "token":
            result = await directory.verify_token(credentials.secret, credentials.username)
        else:
            result = await directory.authenticate(login, credentials.secret)
        if result is not None and result.ok:
            throttle.succeed(account_key)
        elif result is not None or login:
            throttle.fail(ip_key)
            if login:
                throttle.fail(account_key)
        return result

    return check


async def _scram_lookup(directory: Directory, login: str) -> AuthResult | None:
    """The account's SCRAM keys for every hash it has them for (``kernel.login`` picks
    the mechanism's); SCRAM-SHA-1 keys may be missing until the next password login."""
    secrets_ = await directory.scram_secrets(login)
    if not secrets_:
        principal = await directory.principal(login)
        if principal is None:
            return None
        reason = "account disabled" if not principal.enabled else "no SCRAM keys"
        return AuthResult(ok=False, account=principal.name, reason=reason)
    keys = [
        ScramKeys(s.salt, s.iterations, s.stored_key, s.server_key, s.hash_name) for s in secrets_
    ]
    return AuthResult(ok=True, account=normalize_address(login), attributes={"scram": keys})


@hookimpl
def stalwart_login_failed(kernel: Kernel, credentials: Credentials, reason: str) -> None:
    throttle = _throttle(kernel)
    throttle.fail(f"ip:{credentials.remote}")
    login = (credentials.username or "").strip().lower()
    if login:
        throttle.fail(f"account:{login}")


@hookimpl
def stalwart_startup(kernel: Kernel) -> Callable[..., Awaitable[None]]:
    async def create_first_admin(
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        directory = kernel.store.directory
        if not await directory.has_principals():
            login = kernel.config["directory"]["first_admin"]
            password = secrets.token_urlsafe(18)
            await directory.add_account(
                login, password, role="admin", description="first administrator"
            )
            kernel.logger("directory").warning("first-admin-created", login=login)
            print(
                "\n  First administrator account created (shown only this once):\n"
                f"    login:    {login}\n    password: {password}\n"
                f"  Change it with: stalwart-kernel account passwd {login}\n",
                file=sys.stdout,
                flush=True,
            )
        task_status.started()

    return create_first_admin
