"""``stalwart-kernel queue list|show|retry|cancel``: inspect and manage the outbound queue.

They work against a stopped or a running server (both open the same store).
``retry`` makes entries due now; a running server picks them up within
``smtp.queue.poll_interval`` (at once if the command runs in its process).
``cancel`` removes entries without sending any notification.
"""

from __future__ import annotations

import argparse
import sys
import time

from kernel import Kernel
from kernel.errors import StoreError
from kernel.specs import CommandSpec
from kernel.store.queue import QueuedMessage

__all__ = ["COMMANDS"]


def _when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp)) if timestamp else "-"


async def _run(args: argparse.Namespace, kernel: Kernel) -> int:
    try:
        async with kernel.open_backends():
            return int(await args.action(args, kernel))
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _summary(message: QueuedMessage) -> str:
    states: dict[str, int] = {}
    for r in message.recipients:
        states[r.status] = states.get(r.status, 0) + 1
    due = min((r.next_attempt for r in message.recipients if r.next_attempt), default=None)
    counts = ",".join(f"{k}={v}" for k, v in sorted(states.items()))
    return (
        f"{message.id:>8}  {_when(message.created)}  {message.size:>9}  "
        f"<{message.return_path}>  {counts}  next={_when(due)}"
    )


async def _list(args: argparse.Namespace, kernel: Kernel) -> int:
    messages = await kernel.store.queue.list(limit=args.limit)
    print(f"{'ID':>8}  {'QUEUED (UTC)':19}  {'SIZE':>9}  SENDER  RECIPIENTS  NEXT")
    for message in messages:
        print(_summary(message))
    print(f"{len(messages)} message(s)")
    return 0


async def _show(args: argparse.Namespace, kernel: Kernel) -> int:
    message = await kernel.store.queue.get(args.id)
    print(f"id:          {message.id}")
    print(f"sender:      <{message.return_path}>")
    print(f"size:        {message.size}")
    print(f"queued:      {_when(message.created)}")
    print(f"expires:     {_when(message.expires)}")
    if message.env_id or message.dsn_ret:
        print(f"dsn:         envid={message.env_id or '-'} ret={message.dsn_ret or '-'}")
    for r in message.recipients:
        print(f"recipient:   <{r.recipient}> {r.status} attempts={r.attempts}")
        print(f"  next:      {_when(r.next_attempt)}   last: {_when(r.last_attempt)}")
        if r.last_code is not None:
            print(f"  reply:     {r.last_code} {r.last_status or ''} {r.last_error or ''}".rstrip())
        if r.remote_mta:
            print(f"  remote:    {r.remote_mta}")
        if r.lease_owner:
            print(f"  leased:    {r.lease_owner} until {_when(r.lease_until)}")
    if args.raw:
        sys.stdout.flush()
        sys.stdout.buffer.write(await kernel.store.queue.raw(message.id))
        sys.stdout.flush()
    return 0


async def _retry(args: argparse.Namespace, kernel: Kernel) -> int:
    ids = list(args.id)
    if args.all:
        ids = [m.id for m in await kernel.store.queue.list()]
    if not ids:
        print("error: name queue ids or --all", file=sys.stderr)
        return 2
    total = 0
    for message in ids:
        total += await kernel.store.queue.retry(message, args.recipient)
    print(f"{total} recipient(s) due now")
    return 0


async def _cancel(args: argparse.Namespace, kernel: Kernel) -> int:
    for message in args.id:
        await kernel.store.queue.cancel(message, args.recipient)
        target = f"<{args.recipient}> of " if args.recipient else ""
        print(f"cancelled {target}message {message}")
    return 0


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="queue_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="list queued messages")
    listing.add_argument("--limit", type=int, default=1000)
    listing.set_defaults(action=_list)
    show = sub.add_parser("show", help="show one queued message and its recipients")
    show.add_argument("id", type=int)
    show.add_argument("--raw", action="store_true", help="also print the message")
    show.set_defaults(action=_show)
    retry = sub.add_parser("retry", help="make deferred recipients due now")
    retry.add_argument("id", type=int, nargs="*")
    retry.add_argument("--all", action="store_true", help="every queued message")
    retry.add_argument("--recipient", help="only this recipient")
    retry.set_defaults(action=_retry)
    cancel = sub.add_parser("cancel", help="remove messages (or one recipient) without a DSN")
    cancel.add_argument("id", type=int, nargs="+")
    cancel.add_argument("--recipient", help="only this recipient")
    cancel.set_defaults(action=_cancel)


COMMANDS = [CommandSpec("queue", "inspect and manage the outbound SMTP queue", _configure, _run)]
