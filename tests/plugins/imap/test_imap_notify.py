"""NOTIFY (RFC 5465) over real sockets: an :mod:`imaplib` client sets NOTIFY and reads
the unsolicited responses, while a second session (a :class:`Transcript`) changes
mailboxes at the same time."""

from __future__ import annotations

import imaplib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from kernel.lifecycle import Kernel
from kernel.testing import listener_address
from plugins.imap import notifier
from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server, message

BOB = "bob@example.org"


class Client:
    """A logged-in imaplib client whose blocking calls run in a worker thread."""

    def __init__(self, imap: imaplib.IMAP4) -> None:
        self.imap = imap

    @classmethod
    async def connect(cls, kernel: Kernel, user: str = USER) -> Client:
        host, port = listener_address(kernel, "imap")

        def run() -> imaplib.IMAP4:
            imap = imaplib.IMAP4(host, port, timeout=15)
            imap.login(user, PASSWORD)
            return imap

        return cls(await trio.to_thread.run_sync(run))

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args)

    async def notify(self, args: str) -> tuple[str, list[Any]]:
        """``NOTIFY args``; the tagged status and text (BAD raises imaplib's error)."""
        self.imap.untagged_responses.clear()
        imaplib.Commands["NOTIFY"] = ("AUTH", "SELECTED")  # RFC 5465 §8: command-auth
        return await self.call(self.imap.xatom, "NOTIFY", args)

    def untagged(self, kind: str) -> list[bytes]:
        return [x for x in self.imap.untagged_responses.get(kind, []) if isinstance(x, bytes)]

    async def line(self) -> bytes:
        """The next response line read raw (a literal is read and appended whole)."""

        def run() -> bytes:
            line = self.imap.readline()
            found = re.search(rb"\{(\d+)\}\r\n$", line)
            while found:
                line += self.imap.read(int(found.group(1)))
                more = self.imap.readline()
                line += more
                found = re.search(rb"\{(\d+)\}\r\n$", more)
            return line.rstrip(b"\r\n")

        return await trio.to_thread.run_sync(run)

    async def lines_until(self, prefix: bytes) -> list[bytes]:
        """Lines up to and including the first one starting with ``prefix``."""
        out = [await self.line()]
        while not out[-1].startswith(prefix):
            out.append(await self.line())
        return out

    async def noop(self) -> list[bytes]:
        """NOOP's untagged responses, raw."""
        await self.call(self.imap.send, b"n1 NOOP\r\n")
        return (await self.lines_until(b"n1 "))[:-1]

    async def close(self) -> None:
        def run() -> None:
            try:
                self.imap.logout()
            except Exception:
                self.imap.shutdown()

        await trio.to_thread.run_sync(run)


async def _other(kernel: Kernel, user: str = USER) -> Transcript:
    t = await Transcript.connect(kernel)
    await t.transact(f"LOGIN {user} {PASSWORD}")
    return t


async def _append(t: Transcript, mailbox: str, subject: str = "hello") -> None:
    data = message(subject)
    await t.transact(b"APPEND %s {%d+}\r\n" % (mailbox.encode(), len(data)) + data)


async def test_notify_advertised_and_status_for_other_mailboxes(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        b = await _other(kernel)
        await b.transact("CREATE Lists/Lemonade")
        await _append(b, "Lists/Lemonade")
        a = await Client.connect(kernel)
        try:
            assert "NOTIFY" in a.imap.capabilities
            typ, _ = await a.notify("SET STATUS (subtree Lists (MessageNew MessageExpunge))")
            assert typ == "OK"
            # RFC 5465 §3.1: STATUS with MESSAGES, UIDNEXT and UIDVALIDITY before the OK.
            statuses = a.untagged("STATUS")
            assert len(statuses) == 2  # Lists and Lists/Lemonade
            lemonade = next(s for s in statuses if b"Lemonade" in s)
            assert b"MESSAGES 1" in lemonade and b"UIDNEXT 2" in lemonade
            assert b"UIDVALIDITY " in lemonade
            # A new message in a watched mailbox: STATUS (UIDNEXT MESSAGES) at once.
            await _append(b, "Lists/Lemonade", "second")
            assert await a.line() == b"* STATUS Lists/Lemonade (UIDNEXT 3 MESSAGES 2)"
            # An expunge: STATUS again.
            await b.transact("SELECT Lists/Lemonade")
            await b.transact("STORE 1 +FLAGS.SILENT (\\Deleted)")
            await b.transact("EXPUNGE")
            assert await a.line() == b"* STATUS Lists/Lemonade (UIDNEXT 3 MESSAGES 1)"
            # A mailbox not watched: nothing (the NOOP shows what was sent).
            await _append(b, "INBOX")
            assert not [x for x in await a.noop() if b"STATUS" in x]
        finally:
            await a.close()
            await b.stream.aclose()


async def test_notify_delivery_and_flag_changes_in_another_mailbox(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        principal = await kernel.store.directory.principal(USER)
        assert principal is not None
        inbox = await kernel.store.mailboxes.by_path(principal.id, "INBOX")
        assert inbox is not None
        b = await _other(kernel)
        a = await Client.connect(kernel)
        try:
            await a.call(a.imap.enable, "CONDSTORE")
            await a.call(a.imap.select, "Archive")
            await a.notify("SET (inboxes (MessageNew MessageExpunge FlagChange))")
            # Local delivery, through the store as SMTP does.
            await kernel.store.emails.append(
                principal.id, message("delivered"), [inbox.id], delivered=True
            )
            line = await a.line()
            modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", line).group(1))  # type: ignore[union-attr]
            assert line == b"* STATUS INBOX (UIDNEXT 2 MESSAGES 1 HIGHESTMODSEQ %d)" % modseq
            # RFC 5465 §5.1: a flag change elsewhere, with CONDSTORE: HIGHESTMODSEQ and
            # UIDVALIDITY (and UNSEEN, which changed).
            await b.transact("SELECT INBOX")
            await b.transact("STORE 1 +FLAGS.SILENT (\\Seen)")
            line = await a.line()
            assert re.fullmatch(
                rb"\* STATUS INBOX \(HIGHESTMODSEQ (\d+) UIDVALIDITY \d+ UNSEEN 0\)", line
            )
            assert int(line.split()[4]) > modseq
        finally:
            await a.close()
            await b.stream.aclose()


async def test_notify_selected_exists_fetch_flags_expunge(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        b = await _other(kernel)
        a = await Client.connect(kernel)
        try:
            await a.call(a.imap.select, "INBOX")
            typ, _ = await a.notify(
                "SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
                " MessageExpunge FlagChange))"
            )
            assert typ == "OK"
            await _append(b, "INBOX", "good morning")
            # RFC 5465 §5.2: EXISTS, then the FETCH asked for.
            assert await a.line() == b"* 1 EXISTS"
            recent = await a.line()
            fetched = await a.line() if recent.endswith(b"RECENT") else recent
            assert fetched.startswith(b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {")
            assert b"Subject: good morning" in fetched
            # RFC 5465 §5.1: a flag change gives FETCH with UID and FLAGS.
            await b.transact("SELECT INBOX")
            await b.transact("STORE 1 +FLAGS.SILENT (\\Flagged)")
            # (imaplib speaks IMAP4rev1, so \\Recent is there too.)
            assert await a.line() == b"* 1 FETCH (FLAGS (\\Flagged \\Recent) UID 1)"
            # RFC 5465 §5.3: an expunge gives EXPUNGE at once.
            await b.transact("STORE 1 +FLAGS.SILENT (\\Deleted)")
            await b.transact("EXPUNGE")
            lines = await a.lines_until(b"* 1 EXPUNGE")
            assert lines[-1] == b"* 1 EXPUNGE"
        finally:
            await a.close()
            await b.stream.aclose()


async def test_notify_selected_delayed_holds_expunge_until_noop(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        b = await _other(kernel)
        await _append(b, "INBOX", "one")
        await _append(b, "INBOX", "two")
        a = await Client.connect(kernel)
        try:
            await a.call(a.imap.select, "INBOX")
            await a.notify("SET (selected-delayed (MessageNew MessageExpunge))")
            await b.transact("SELECT INBOX")
            await b.transact("STORE 1 +FLAGS.SILENT (\\Deleted)")
            await b.transact("EXPUNGE")
            await _append(b, "INBOX", "three")
            # The new message is announced at once; the expunge waits (RFC 5465 §6.1.2).
            assert await a.line() == b"* 3 EXISTS"
            got = await a.noop()
            assert b"* 1 EXPUNGE" in got
        finally:
            await a.close()
            await b.stream.aclose()


async def test_notify_mailbox_name_and_subscription_change(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        b = await _other(kernel)
        a = await Client.connect(kernel)
        try:
            await a.notify("SET (personal (MailboxName SubscriptionChange))")
            # RFC 5465 §5.4: a created mailbox is listed (created mailboxes are subscribed).
            await b.transact("CREATE Projects")
            assert await a.line() == b'* LIST (\\HasNoChildren \\Subscribed) "/" Projects'
            await b.transact("CREATE Projects/Alpha")
            got = {await a.line(), await a.line()}
            assert got == {
                b'* LIST (\\HasNoChildren \\Subscribed) "/" Projects/Alpha',
                b'* LIST (\\HasChildren \\Subscribed) "/" Projects',  # the direct parent
            }
            # A rename: the new name with OLDNAME; the child renamed along is not listed.
            await b.transact("RENAME Projects Work")
            assert (
                await a.line()
                == b'* LIST (\\HasChildren \\Subscribed) "/" Work ("OLDNAME" (Projects))'
            )
            # RFC 5465 §5.5: \Subscribed if and only if subscribed after the change.
            await b.transact("UNSUBSCRIBE Work/Alpha")
            assert await a.line() == b'* LIST (\\HasNoChildren) "/" Work/Alpha'
            await b.transact("SUBSCRIBE Work/Alpha")
            assert await a.line() == b'* LIST (\\HasNoChildren \\Subscribed) "/" Work/Alpha'
            # A deleted mailbox: \NonExistent, then its parent.
            await b.transact("DELETE Work/Alpha")
            assert await a.line() == b'* LIST (\\NonExistent) "/" Work/Alpha'
            assert await a.line() == b'* LIST (\\HasNoChildren \\Subscribed) "/" Work'
        finally:
            await a.close()
            await b.stream.aclose()


async def test_notify_metadata_changes(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        b = await _other(kernel)
        a = await Client.connect(kernel)
        try:
            await a.notify(
                "SET (personal (MailboxMetadataChange)) (inboxes (ServerMetadataChange))"
            )
            await b.transact('SETMETADATA INBOX (/shared/comment "hi")')
            assert await a.line() == b"* METADATA INBOX /shared/comment"
            await b.transact("SETMETADATA INBOX (/private/comment NIL)")
            assert await a.line() == b"* METADATA INBOX /private/comment"
            await b.transact('SETMETADATA "" (/private/vendor/x "1")')
            assert await a.line() == b'* METADATA "" /private/vendor/x'
        finally:
            await a.close()
            await b.stream.aclose()


async def test_notify_none_stops_and_own_changes_are_not_reported(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        b = await _other(kernel)
        await b.transact("CREATE Other")
        a = await Client.connect(kernel)
        try:
            await a.notify(
                "SET (mailboxes Other (MessageNew MessageExpunge)) (personal (MailboxName))"
            )
            await _append(b, "Other")
            assert await a.line() == b"* STATUS Other (UIDNEXT 2 MESSAGES 1)"
            # RFC 5465 §5: the client's own CREATE is not reported back.
            await a.call(a.imap.create, "Mine")
            assert not [x for x in await a.noop() if x.startswith(b"* LIST")]
            typ, _ = await a.notify("NONE")
            assert typ == "OK"
            await _append(b, "Other")
            await b.transact("CREATE Later")
            assert await a.noop() == []
        finally:
            await a.close()
            await b.stream.aclose()


async def test_notify_during_idle(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        b = await _other(kernel)
        await b.transact("CREATE Other")
        a = await Client.connect(kernel)
        try:
            await a.call(a.imap.select, "INBOX")
            await a.notify(
                "SET (selected (MessageNew MessageExpunge))"
                " (mailboxes Other (MessageNew MessageExpunge))"
            )
            await a.call(a.imap.send, b"i1 IDLE\r\n")
            assert (await a.line()).startswith(b"+ ")
            # RFC 5465 §4: in IDLE, the events NOTIFY asked for, other mailboxes too.
            await _append(b, "Other")
            assert await a.line() == b"* STATUS Other (UIDNEXT 2 MESSAGES 1)"
            await _append(b, "INBOX")
            assert await a.line() == b"* 1 EXISTS"
            await a.call(a.imap.send, b"DONE\r\n")
            assert (await a.lines_until(b"i1 "))[-1].startswith(b"i1 OK")
        finally:
            await a.close()
            await b.stream.aclose()


_BAD = [
    "SET (selected (MessageNew))",  # MessageNew without MessageExpunge (§5)
    "SET (personal (MessageExpunge))",
    "SET (personal (FlagChange))",  # FlagChange without MessageNew/Expunge (§5)
    "SET (selected (MailboxName))",  # non-message event for SELECTED (§6.1)
    "SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))",
    "SET (personal (MessageNew (UID) MessageExpunge))",  # fetch-att outside SELECTED (§8)
    # Parse errors.
    "SET",
    "SET STATUS",
    "FOO",
    "SET (nowhere (MessageNew MessageExpunge))",
    "SET (personal MessageNew)",
    "SET (subtree (MessageNew MessageExpunge))",
    "SET (selected (MessageNew (NOSUCHATT) MessageExpunge))",
    "NONE extra",
]


async def test_notify_bad_combinations_and_syntax(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        b = await _other(kernel)
        await b.transact("CREATE Other")
        a = await Client.connect(kernel)
        try:
            await a.notify("SET (mailboxes Other (MessageNew MessageExpunge))")
            for args in _BAD:
                with pytest.raises(imaplib.IMAP4.error, match="BAD"):
                    await a.notify(args)
            # A refused NOTIFY leaves the previous one in effect.
            await _append(b, "Other")
            assert await a.line() == b"* STATUS Other (UIDNEXT 2 MESSAGES 1)"
        finally:
            await a.close()
            await b.stream.aclose()


async def test_notify_badevent_lists_supported_events(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        a = await Client.connect(kernel)
        try:
            for args in (
                "SET (selected (MessageNew MessageExpunge AnnotationChange))",
                "SET (personal (MailboxName SomethingNew))",
            ):
                typ, data = await a.notify(args)
                assert typ == "NO"
                assert data[0].startswith(
                    b"[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName "
                    b"SubscriptionChange MailboxMetadataChange ServerMetadataChange)]"
                )
            # A refused NOTIFY leaves the session as it was, and a valid one works.
            typ, _ = await a.notify("SET (selected (MessageNew MessageExpunge FlagChange))")
            assert typ == "OK"
        finally:
            await a.close()


async def test_notify_noaccess_for_listable_unreadable_mailbox(tmp_path: Path) -> None:
    async with imap_server(tmp_path, users=(USER, BOB)) as kernel:
        ann = await _other(kernel)
        await ann.transact("CREATE Team")
        await ann.transact(f"SETACL Team {BOB} l")
        bob = await Client.connect(kernel, BOB)
        try:
            typ, _ = await bob.notify("SET STATUS (subtree Shared (MessageNew MessageExpunge))")
            assert typ == "OK"
            assert bob.untagged("LIST") == [b'(\\NoAccess) "/" Shared/ann@example.org/Team']
            assert bob.untagged("STATUS") == []
            await _append(ann, "Team")  # not reported: bob cannot read it
            # RFC 5465 §5.9: monitoring restarts once access is granted.
            await ann.transact(f"SETACL Team {BOB} lr")
            assert (
                await bob.line() == b"* STATUS Shared/ann@example.org/Team (UIDNEXT 2 MESSAGES 1)"
            )
            await _append(ann, "Team")
            assert (
                await bob.line() == b"* STATUS Shared/ann@example.org/Team (UIDNEXT 3 MESSAGES 2)"
            )
        finally:
            await bob.close()
            await ann.stream.aclose()


async def test_notify_overflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with imap_server(tmp_path) as kernel:
        b = await _other(kernel)
        a = await Client.connect(kernel)
        try:
            monkeypatch.setattr(notifier, "MAX_WATCHED", 1)
            typ, data = await a.notify("SET (personal (MailboxName))")
            assert typ == "NO" and data[0].startswith(b"[NOTIFICATIONOVERFLOW]")
            monkeypatch.setattr(notifier, "MAX_WATCHED", 10000)
            monkeypatch.setattr(notifier, "MAX_PENDING", 0)
            typ, _ = await a.notify("SET (personal (MailboxMetadataChange MailboxName))")
            assert typ == "OK"
            # RFC 5465 §5.8: OK [NOTIFICATIONOVERFLOW], then as if NOTIFY NONE.
            await b.transact('SETMETADATA INBOX (/shared/comment "hi")')
            assert (await a.line()).startswith(b"* OK [NOTIFICATIONOVERFLOW]")
            await b.transact("CREATE After")
            assert await a.noop() == []
        finally:
            await a.close()
            await b.stream.aclose()
