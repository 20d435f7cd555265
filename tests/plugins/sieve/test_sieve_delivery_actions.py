"""The active script at local delivery, end to end: SMTP in, IMAP out."""

from __future__ import annotations

import smtplib
from pathlib import Path

import imapclient
import pytest
from sieve_delivery_support import (
    ANN,
    BOB,
    events,
    message,
    sieve_log,
    sieve_server,
)


async def test_sieve_delivery_fileinto_create_and_flags(tmp_path: Path) -> None:
    script = """
    require ["fileinto", "mailbox", "imap4flags"];
    if header :contains "subject" "lists" {
        fileinto :create :flags ["\\\\Seen", "$label1"] "Lists/Python";
    }
    """
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, script)
        assert await server.send(message("python lists digest"), [ANN]) == {}
        assert await server.send(message("other", message_id="<2@remote.example>"), [ANN]) == {}

        def folders(c: imapclient.IMAPClient) -> list[str]:
            return [name for _, _, name in c.list_folders()]

        assert "Lists/Python" in await server.imap(ANN, folders)
        filed = await server.folder(ANN, "Lists/Python")
        assert len(filed) == 1
        flags, raw = filed[0]
        assert b"Subject: python lists digest" in raw
        assert {b"\\Seen", b"$label1"} <= flags
        inbox = await server.folder(ANN)
        assert [b"Subject: other" in raw for _, raw in inbox] == [True]


async def test_sieve_delivery_keep_with_flags_and_copy(tmp_path: Path) -> None:
    script = """
    require ["fileinto", "copy", "imap4flags"];
    addflag "\\\\Flagged";
    fileinto :copy "Archive";
    """
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, script)
        assert await server.send(message("keep me"), [ANN]) == {}
        inbox = await server.folder(ANN)
        assert len(inbox) == 1 and b"\\Flagged" in inbox[0][0]
        archive = await server.folder(ANN, "Archive")
        assert len(archive) == 1 and b"\\Flagged" in archive[0][0]


async def test_sieve_delivery_discard_stores_nothing(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, 'if header :is "subject" "spam" { discard; }')
        assert await server.send(message("spam"), [ANN, BOB]) == {}
        assert await server.folder(ANN) == []
        # Only ann's script discards: bob still gets his copy.
        assert len(await server.folder(BOB)) == 1


async def test_sieve_delivery_reject_refuses_single_recipient(tmp_path: Path) -> None:
    script = 'require "reject"; reject "I do not\nwant this";'
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, script)
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await server.send(message("unwanted"), [ANN])
        assert refused.value.smtp_code == 550
        assert b"5.7.1" in refused.value.smtp_error
        assert b"I do not want this" in refused.value.smtp_error
        assert await server.folder(ANN) == []


async def test_sieve_delivery_ereject_one_of_two_recipients(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, 'require "ereject"; ereject "no thanks";')
        # The message is accepted for bob; ann's refusal needs a DSN (not the client's).
        assert await server.send(message("two"), [ANN, BOB]) == {}
        assert await server.folder(ANN) == []
        assert len(await server.folder(BOB)) == 1


async def test_sieve_delivery_editheader(tmp_path: Path) -> None:
    script = """
    require ["editheader"];
    addheader "X-Filtered" "by sieve";
    deleteheader "X-Spam-Flag";
    """
    extra = "X-Spam-Flag: YES\r\nX-Keep: yes\r\n"
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, script)
        assert await server.send(message("edited", extra=extra), [ANN]) == {}
        ((_, raw),) = await server.folder(ANN)
        assert b"X-Filtered: by sieve\r\n" in raw
        assert b"X-Spam-Flag" not in raw
        assert b"X-Keep: yes" in raw


async def test_sieve_delivery_specialuse_and_mailboxid(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        account = server.accounts[ANN]
        boxes = await server.kernel.store.mailboxes.list(account)
        archive = next(m for m in boxes if m.role == "archive")
        script = f"""
        require ["fileinto", "special-use", "mailboxid"];
        if header :is "subject" "junk" {{ fileinto :specialuse "\\\\Junk" "Nowhere"; }}
        else {{ fileinto :mailboxid "F{archive.id}" "Elsewhere"; }}
        """
        await server.install(ANN, script)
        assert await server.send(message("junk"), [ANN]) == {}
        assert await server.send(message("old", message_id="<2@x>"), [ANN]) == {}
        assert len(await server.folder(ANN, "Junk")) == 1
        assert len(await server.folder(ANN, archive.name)) == 1
        assert await server.folder(ANN) == []


async def test_sieve_delivery_mailboxexists_test(tmp_path: Path) -> None:
    script = """
    require ["fileinto", "mailbox"];
    if mailboxexists "Archive" { fileinto "Archive"; }
    if not mailboxexists "Nope" { fileinto "Trash"; }
    """
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, script)
        assert await server.send(message("exists"), [ANN]) == {}
        assert len(await server.folder(ANN, "Archive")) == 1
        assert len(await server.folder(ANN, "Trash")) == 1


async def test_sieve_delivery_missing_cache_is_compiled_and_stored(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, 'require "fileinto"; fileinto "Archive";', cache=False)
        account = server.accounts[ANN]
        assert (await server.kernel.store.sieve.active(account))[2] is None
        with sieve_log() as records:
            assert await server.send(message("compile me"), [ANN]) == {}
        assert events(records, "sieve-recompiled")
        assert (await server.kernel.store.sieve.active(account))[2] is not None
        assert len(await server.folder(ANN, "Archive")) == 1


async def test_sieve_delivery_duplicate_across_two_deliveries(tmp_path: Path) -> None:
    script = """
    require ["duplicate", "fileinto"];
    if duplicate { fileinto "Trash"; }
    """
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, script)
        assert await server.send(message("first", message_id="<dup@x>"), [ANN]) == {}
        assert await server.send(message("again", message_id="<dup@x>"), [ANN]) == {}
        assert await server.send(message("other", message_id="<new@x>"), [ANN]) == {}
        inbox = await server.folder(ANN)
        assert [b"Subject: first" in r or b"Subject: other" in r for _, r in inbox] == [True, True]
        trash = await server.folder(ANN, "Trash")
        assert len(trash) == 1 and b"Subject: again" in trash[0][1]


async def test_sieve_delivery_no_script_means_inbox(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        assert await server.send(message("plain"), [ANN]) == {}
        assert len(await server.folder(ANN)) == 1


async def test_sieve_delivery_stale_cache_is_recompiled(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, 'require "fileinto"; fileinto "Archive";')
        account = server.accounts[ANN]
        script, _, cached = await server.kernel.store.sieve.active(account)
        assert cached is not None
        # A cache naming a handler this build does not know (an older format).
        await server.kernel.store.sieve.set_compiled(
            script.id, cached.replace(b"fileinto", b"gone")
        )
        with sieve_log() as records:
            assert await server.send(message("stale"), [ANN]) == {}
        assert events(records, "sieve-recompiled")
        assert len(await server.folder(ANN, "Archive")) == 1
        refreshed = (await server.kernel.store.sieve.active(account))[2]
        assert refreshed is not None and b'"fileinto"' in refreshed and b"gone" not in refreshed


async def test_sieve_delivery_metadata_and_personal_include(tmp_path: Path) -> None:
    script = """
    require ["include", "mboxmetadata", "fileinto"];
    if metadata :is "INBOX" "/private/comment" "route" { include :personal "router"; }
    """
    router = 'require "fileinto"; fileinto "Archive";'
    async with sieve_server(tmp_path) as server:
        store = server.kernel.store
        account = server.accounts[ANN]
        await store.sieve.put(account, "router", router.encode(), None)
        await server.install(ANN, script)
        assert await server.send(message("before"), [ANN]) == {}
        inbox = await store.mailboxes.by_path(account, "INBOX")
        await store.metadata.set(account, inbox.id, {"/private/comment": b"route"})
        assert await server.send(message("after", message_id="<2@x>"), [ANN]) == {}
        assert [b"Subject: before" in raw for _, raw in await server.folder(ANN)] == [True]
        archived = await server.folder(ANN, "Archive")
        assert [b"Subject: after" in raw for _, raw in archived] == [True]
