"""``stalwart-kernel domain|account|alias ...``: manage the directory from the shell.

They work against a stopped or a running server (both open the same store; the
server caches nothing, so changes apply at once).
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from kernel import Kernel
from kernel.config.schema import parse_duration, parse_size
from kernel.errors import StoreError
from kernel.specs import CommandSpec
from kernel.store import InvalidName

__all__ = ["COMMANDS"]


def _read_password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return str(args.password)
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            raise InvalidName("the passwords do not match")
        return first
    return sys.stdin.readline().rstrip("\n")  # scripted: the password on standard input


def _when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(timestamp)) if timestamp else "-"


async def _run(args: argparse.Namespace, kernel: Kernel) -> int:
    try:
        async with kernel.open_backends():
            return await args.action(args, kernel)
    except (StoreError, InvalidName) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


# ---- domain ----------------------------------------------------------------


async def _domain_add(args: argparse.Namespace, kernel: Kernel) -> int:
    domain = await kernel.store.directory.add_domain(args.name)
    print(f"domain {domain.name} added")
    return 0


async def _domain_list(args: argparse.Namespace, kernel: Kernel) -> int:
    for domain in await kernel.store.directory.domains():
        print(domain.name)
    return 0


async def _domain_delete(args: argparse.Namespace, kernel: Kernel) -> int:
    await kernel.store.directory.delete_domain(args.name)
    print(f"domain {args.name} deleted")
    return 0


def _configure_domain(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="domain_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a local domain")
    add.add_argument("name")
    add.set_defaults(action=_domain_add)
    sub.add_parser("list", help="list local domains").set_defaults(action=_domain_list)
    delete = sub.add_parser("delete", help="remove a local domain with no accounts left")
    delete.add_argument("name")
    delete.set_defaults(action=_domain_delete)


# ---- account ---------------------------------------------------------------


async def _account_add(args: argparse.Namespace, kernel: Kernel) -> int:
    password = _read_password(args)
    principal = await kernel.store.directory.add_account(
        args.name,
        password,
        role="admin" if args.admin else "user",
        quota=parse_size(args.quota) if args.quota else 0,
        description=args.description,
        quota_messages=args.message_quota,
    )
    print(f"account {principal.name} added")
    return 0


async def _account_list(args: argparse.Namespace, kernel: Kernel) -> int:
    for p in await kernel.store.directory.principals():
        quota = f"{p.used}/{p.quota}" if p.quota else f"{p.used}/unlimited"
        flags = ",".join(f for f, on in (("admin", p.is_admin), ("disabled", not p.enabled)) if on)
        if p.quota_messages:  # RFC 9208 §5.2's MESSAGE limit, when there is one
            quota += f"  messages={p.used_messages}/{p.quota_messages}"
        print(f"{p.name}  {p.kind}  quota={quota}  {flags}".rstrip())
    return 0


async def _account_passwd(args: argparse.Namespace, kernel: Kernel) -> int:
    await kernel.store.directory.set_password(args.name, _read_password(args))
    print(f"password of {args.name} changed")
    return 0


async def _account_delete(args: argparse.Namespace, kernel: Kernel) -> int:
    await kernel.store.directory.delete_account(args.name)
    print(f"account {args.name} deleted")
    return 0


async def _account_quota(args: argparse.Namespace, kernel: Kernel) -> int:
    quota = 0 if args.size in ("0", "unlimited") else parse_size(args.size)
    await kernel.store.directory.update(args.name, quota=quota)
    print(f"quota of {args.name} set to {quota or 'unlimited'}")
    return 0


async def _account_enable(args: argparse.Namespace, kernel: Kernel) -> int:
    await kernel.store.directory.update(args.name, enabled=args.enabled)
    print(f"account {args.name} {'enabled' if args.enabled else 'disabled'}")
    return 0


async def _app_password_add(args: argparse.Namespace, kernel: Kernel) -> int:
    secret = await kernel.store.directory.add_app_password(args.name, args.label)
    print(f"app password {args.label!r} for {args.name}: {secret}")
    print("It is shown only now.")
    return 0


async def _app_password_list(args: argparse.Namespace, kernel: Kernel) -> int:
    for item in await kernel.store.directory.app_passwords(args.name):
        print(f"{item.name}  created {_when(item.created)}  last used {_when(item.last_used)}")
    return 0


async def _app_password_revoke(args: argparse.Namespace, kernel: Kernel) -> int:
    await kernel.store.directory.revoke_app_password(args.name, args.label)
    print(f"app password {args.label!r} of {args.name} revoked")
    return 0


async def _token_add(args: argparse.Namespace, kernel: Kernel) -> int:
    lifetime = parse_duration(args.expires) if args.expires else None
    token = await kernel.store.directory.add_token(args.name, args.label, lifetime=lifetime)
    print(f"token {args.label!r} for {args.name}: {token}")
    print("It is shown only now.")
    return 0


async def _token_list(args: argparse.Namespace, kernel: Kernel) -> int:
    for item in await kernel.store.directory.tokens(args.name):
        print(f"{item.name}  created {_when(item.created)}  expires {_when(item.expires)}")
    return 0


async def _token_revoke(args: argparse.Namespace, kernel: Kernel) -> int:
    await kernel.store.directory.revoke_token(args.name, args.label)
    print(f"token {args.label!r} of {args.name} revoked")
    return 0


def _secret_commands(
    sub: argparse._SubParsersAction,
    word: str,
    help: str,  # type: ignore[type-arg]
    add,
    list_,
    revoke,
) -> argparse.ArgumentParser:
    parser = sub.add_parser(word, help=help)
    nested = parser.add_subparsers(dest=f"{word}_command", metavar="ACTION", required=True)
    adding = nested.add_parser("add", help=f"create a {word} (shown once)")
    adding.add_argument("name", help="account")
    adding.add_argument("label", help="a name for it, e.g. the device")
    adding.set_defaults(action=add)
    listing = nested.add_parser("list", help=f"list an account's {word}s")
    listing.add_argument("name", help="account")
    listing.set_defaults(action=list_)
    revoking = nested.add_parser("revoke", help=f"revoke a {word}")
    revoking.add_argument("name", help="account")
    revoking.add_argument("label")
    revoking.set_defaults(action=revoke)
    return adding


def _message_count(text: str) -> int:
    """A message-count limit: a whole number, ``0`` or ``unlimited`` for none."""
    if text == "unlimited":
        return 0
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of messages")
    return int(text)


async def _account_message_quota(args: argparse.Namespace, kernel: Kernel) -> int:
    await kernel.store.directory.update(args.name, quota_messages=args.count)
    print(f"message quota of {args.name} set to {args.count or 'unlimited'}")
    return 0


def _configure_account(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="account_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create an account (prompts for the password)")
    add.add_argument("name", help="address (user@example.org) or login name")
    add.add_argument("--password", help="the password (default: prompt, or one line on stdin)")
    add.add_argument("--admin", action="store_true", help="make it an administrator")
    add.add_argument("--quota", help="storage quota, e.g. 5GB (default: unlimited)")
    add.add_argument(
        "--message-quota",
        type=_message_count,
        default=0,
        help="most messages the account may hold (default: unlimited)",
    )
    add.add_argument("--description", default="")
    add.set_defaults(action=_account_add)
    sub.add_parser("list", help="list accounts").set_defaults(action=_account_list)
    passwd = sub.add_parser("passwd", help="change an account's password")
    passwd.add_argument("name")
    passwd.add_argument("--password")
    passwd.set_defaults(action=_account_passwd)
    delete = sub.add_parser("delete", help="delete an account")
    delete.add_argument("name")
    delete.set_defaults(action=_account_delete)
    quota = sub.add_parser("quota", help="set an account's quota (0 or unlimited: none)")
    quota.add_argument("name")
    quota.add_argument("size")
    quota.set_defaults(action=_account_quota)
    messages = sub.add_parser(
        "message-quota", help="set an account's message-count quota (0 or unlimited: none)"
    )
    messages.add_argument("name")
    messages.add_argument("count", type=_message_count)
    messages.set_defaults(action=_account_message_quota)
    for word, enabled in (("enable", True), ("disable", False)):
        toggle = sub.add_parser(word, help=f"{word} an account")
        toggle.add_argument("name")
        toggle.set_defaults(action=_account_enable, enabled=enabled)
    _secret_commands(
        sub,
        "app-password",
        "manage app passwords",
        _app_password_add,
        _app_password_list,
        _app_password_revoke,
    )
    token_add = _secret_commands(
        sub,
        "token",
        "manage bearer tokens (OAUTHBEARER, HTTP)",
        _token_add,
        _token_list,
        _token_revoke,
    )
    token_add.add_argument("--expires", help="lifetime, e.g. 90d (default: never)")


# ---- alias -----------------------------------------------------------------


async def _alias_add(args: argparse.Namespace, kernel: Kernel) -> int:
    await kernel.store.directory.add_alias(args.address, args.target)
    print(f"alias {args.address} -> {args.target} added")
    return 0


async def _alias_list(args: argparse.Namespace, kernel: Kernel) -> int:
    for address, target in await kernel.store.directory.aliases(args.target):
        print(f"{address} -> {target}")
    return 0


async def _alias_delete(args: argparse.Namespace, kernel: Kernel) -> int:
    await kernel.store.directory.delete_alias(args.address)
    print(f"alias {args.address} deleted")
    return 0


def _configure_alias(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="alias_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="deliver ADDRESS (or @domain: catch-all) to TARGET")
    add.add_argument("address")
    add.add_argument("target")
    add.set_defaults(action=_alias_add)
    listing = sub.add_parser("list", help="list aliases")
    listing.add_argument("target", nargs="?")
    listing.set_defaults(action=_alias_list)
    delete = sub.add_parser("delete", help="remove an alias")
    delete.add_argument("address")
    delete.set_defaults(action=_alias_delete)


COMMANDS = [
    CommandSpec("domain", "manage local domains", _configure_domain, _run),
    CommandSpec("account", "manage accounts, app passwords and tokens", _configure_account, _run),
    CommandSpec("alias", "manage aliases and catch-alls", _configure_alias, _run),
]
