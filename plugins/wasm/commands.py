"""``stalwart-kernel rules test|replay``: try a rule (Sieve, WASM, ...) before using it.

``rules test FILE MESSAGE.eml [--from X] [--to Y]`` runs the rule against one
message and prints its actions; ``rules replay --account A --mailbox INBOX RULE``
dry-runs it over a mailbox's messages (read-only: nothing is moved, flagged or
sent) and prints, per message, what it would have done.

Implementation notes: the engine is picked by file suffix among every
installed plugin's ``stalwart_register_rule_engines`` (so a Sieve engine from
another plugin is found without loading that plugin). The WASM engine is then
rebuilt with the configuration's ``wasm.tables`` (the hook has no access to the
configuration) and the section's default limits. Engines run in a worker thread,
as their ``run`` may block.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import trio

from kernel import Kernel
from kernel.errors import StoreError
from kernel.mail import parse_header_block
from kernel.rules import RuleEngine, RuleEnvelope, engine_for
from kernel.specs import CommandSpec
from plugins.wasm.engine import rule_engine
from plugins.wasm.sandbox import Limits

__all__ = ["COMMANDS"]


def _engine(kernel: Kernel, rule: Path) -> RuleEngine:
    found, _problems = kernel.catalog.collect_installed("stalwart_register_rule_engines")
    engines = [engine for _plugin, engine in found if isinstance(engine, RuleEngine)]
    engine = engine_for(rule, engines)
    if engine.name == "wasm" and "wasm" in kernel.config:
        section = kernel.config["wasm"]
        limits = Limits(
            fuel=section["fuel"],
            memory=min(section["memory"], 2**30),
            timeout=section["timeout"],
            max_actions=section["max_actions"],
        )
        engine = rule_engine(section.get("tables"), limits)
    return engine


def _load(kernel: Kernel, rule: Path) -> tuple[RuleEngine, object] | None:
    try:
        engine = _engine(kernel, rule)
        return engine, engine.load(rule)
    except (OSError, ValueError) as exc:
        print(f"error: {rule}: {exc}", file=sys.stderr)
        return None


async def _test(args: argparse.Namespace, kernel: Kernel) -> int:
    loaded = await trio.to_thread.run_sync(_load, kernel, args.rule)
    if loaded is None:
        return 1
    engine, compiled = loaded
    try:
        message = args.message.read_bytes()
    except OSError as exc:
        print(f"error: {args.message}: {exc}", file=sys.stderr)
        return 1
    envelope = RuleEnvelope(mail_from=args.mail_from, rcpt_to=args.rcpt_to)
    lines = await trio.to_thread.run_sync(engine.run, compiled, message, envelope)
    for line in lines:
        print(line)
    return 0


def _return_path(raw: bytes) -> str:
    for header in parse_header_block(raw):
        if header.lower_name == "return-path":
            return header.text.strip().removeprefix("<").removesuffix(">")
    return ""


def _subject(raw: bytes) -> str:
    for header in parse_header_block(raw):
        if header.lower_name == "subject":
            return header.text[:60]
    return ""


async def _replay(args: argparse.Namespace, kernel: Kernel) -> int:
    loaded = await trio.to_thread.run_sync(_load, kernel, args.rule)
    if loaded is None:
        return 1
    engine, compiled = loaded
    async with kernel.open_backends():
        store = kernel.store
        try:
            account = await store.directory.principal(args.account)
            if account is None:
                print(f"error: no account {args.account}", file=sys.stderr)
                return 1
            mailbox = await store.mailboxes.by_path(account.id, args.mailbox)
            if mailbox is None:
                print(f"error: {args.account} has no mailbox {args.mailbox}", file=sys.stderr)
                return 1
            members = await store.emails.in_mailbox(account.id, mailbox.id)
            print(f"# {len(members)} messages in {args.mailbox} of {account.name} (dry run)")
            for member in members:
                raw = await store.emails.raw(account.id, member.email)
                envelope = RuleEnvelope(_return_path(raw), args.rcpt_to or account.name)
                lines = await trio.to_thread.run_sync(engine.run, compiled, raw, envelope)
                print(f"uid {member.uid} {_subject(raw)!r}: {'; '.join(lines)}")
        except StoreError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    test = sub.add_parser("test", help="run a rule against one message and print its actions")
    test.add_argument("rule", type=Path, metavar="FILE", help="a rule file (.wasm, .wat, .sieve)")
    test.add_argument("message", type=Path, metavar="MESSAGE", help="an RFC 5322 message file")
    test.add_argument("--from", dest="mail_from", default="", help="the envelope sender")
    test.add_argument("--to", dest="rcpt_to", default="", help="the envelope recipient")
    test.set_defaults(action=_test)
    replay = sub.add_parser("replay", help="dry-run a rule over a mailbox's messages")
    replay.add_argument("rule", type=Path, metavar="RULE")
    replay.add_argument("--account", required=True, help="the account's name")
    replay.add_argument("--mailbox", default="INBOX", help="the mailbox (default INBOX)")
    replay.add_argument("--to", dest="rcpt_to", default="", help="recipient (default: account)")
    replay.set_defaults(action=_replay)


async def _run(args: argparse.Namespace, kernel: Kernel) -> int:
    return int(await args.action(args, kernel))


COMMANDS = [
    CommandSpec(
        "rules",
        "test rules (Sieve scripts, WASM modules) against messages",
        _configure,
        _run,
    )
]
