"""RFC 8580 ``:fcc`` with its fileinto modifiers (``:flags``, ``:create``, ``:specialuse``,
``:mailboxid``) on vacation and notify: compiled, run, and carried out end to end
(delivered over SMTP with smtplib, the filed copy read over IMAP with imaplib)."""

from __future__ import annotations

import imaplib
import re
from pathlib import Path

from sieve_delivery_support import ANN, PASSWORDS, Server, in_thread, message, sieve_server
from sieve_support import compile_error, run

from kernel.testing import listener_address
from plugins.sieve import Fcc, Notify, Vacation

VACATION = 'vacation {fcc} :subject "Away" "I am away.";'
_FETCHED = re.compile(rb"FLAGS \(([^)]*)\)")


async def _imap_folder(server: Server, name: str) -> list[tuple[set[str], bytes]]:
    """The (flags, message) pairs of mailbox ``name``, read with imaplib."""
    host, port = listener_address(server.kernel, "imap")

    def read() -> list[tuple[set[str], bytes]]:
        client = imaplib.IMAP4(host, port, timeout=15)
        try:
            client.login(ANN, PASSWORDS[ANN])
            typ, _ = client.select(f'"{name}"', readonly=True)
            assert typ == "OK", f"cannot select {name}"
            typ, data = client.fetch("1:*", "(FLAGS BODY.PEEK[])")
            assert typ == "OK"
            found = []
            for item in data:
                if not isinstance(item, tuple):
                    continue
                flags = _FETCHED.search(item[0])
                assert flags is not None
                # \Recent is session state (RFC 3501 §2.3.2), not a stored flag.
                words = set(flags.group(1).decode().split()) - {"\\Recent"}
                found.append((words, item[1]))
            client.close()
            return found
        finally:
            client.logout()

    return await in_thread(read)


async def _imap_list(server: Server) -> dict[str, set[str]]:
    """Mailbox name -> LIST attributes, read with imaplib."""
    host, port = listener_address(server.kernel, "imap")

    def read() -> dict[str, set[str]]:
        client = imaplib.IMAP4(host, port, timeout=15)
        try:
            client.login(ANN, PASSWORDS[ANN])
            typ, data = client.list()
            assert typ == "OK"
            out = {}
            for line in data:
                assert isinstance(line, bytes)
                found = re.match(rb'\(([^)]*)\) (?:"[^"]*"|NIL) "?([^"]*)"?$', line)
                assert found is not None, line
                out[found.group(2).decode()] = set(found.group(1).decode().split())
            return out
        finally:
            client.logout()

    return await in_thread(read)


async def _reply_filed(server: Server, script: str) -> bytes:
    """Install ``script``, deliver one message, return the queued reply."""
    await server.install(ANN, script)
    assert await server.send(message("hello"), [ANN]) == {}
    ((queued, _, _),) = await server.queued()
    return queued


# -- compile and run ---------------------------------------------------------------


def test_sieve_fcc_options_are_compiled_into_the_action() -> None:
    source = (
        'require ["vacation", "fcc", "imap4flags", "mailbox", "special-use"];'
        ' vacation :specialuse "\\\\Sent" :create :fcc "INBOX.Sent" :flags ["\\\\Seen", "$x"]'
        ' "Gone";'
    )
    (vacation, _keep) = run(source).actions
    assert isinstance(vacation, Vacation)
    assert vacation.fcc == Fcc("INBOX.Sent", ("\\Seen", "$x"), True, "\\Sent")
    source = (
        'require ["enotify", "fcc", "mailboxid"];'
        ' notify :fcc "Sent" :mailboxid "F12" :message "m" "mailto:ken@example.com";'
    )
    (notify, _keep) = run(source).actions
    assert isinstance(notify, Notify)
    assert notify.fcc == Fcc("Sent", mailbox_id="F12")


def test_sieve_fcc_options_need_fcc_and_their_extension() -> None:
    base = 'require ["vacation", "fcc", "imap4flags", "mailbox", "special-use", "mailboxid"]; '
    assert ":flags argument of vacation requires :fcc" in str(
        compile_error(base + 'vacation :flags "\\\\Seen" "x";')
    )
    assert ":create argument of vacation requires :fcc" in str(
        compile_error(base + 'vacation :create "x";')
    )
    assert "cannot be combined" in str(
        compile_error(base + 'vacation :fcc "S" :specialuse "\\\\Sent" :mailboxid "F1" "x";')
    )
    assert "invalid special-use flag" in str(
        compile_error(base + 'vacation :fcc "S" :specialuse "Sent" "x";')
    )
    # RFC 8580 §3.1: the fileinto extension behind each option must be required.
    assert "imap4flags" in str(
        compile_error('require ["vacation", "fcc"]; vacation :fcc "S" :flags "\\\\Seen" "x";')
    )
    assert "mailbox" in str(
        compile_error('require ["enotify", "fcc"]; notify :fcc "S" :create "mailto:a@b.c";')
    )


def test_sieve_fcc_notify_method_capability() -> None:
    # RFC 8580 §6.1: mailto notifications can be filed.
    source = 'require ["enotify", "fcc"]; if notify_method_capability "mailto:" "fcc" "yes"'
    (action,) = run(source + " { discard; }").actions
    assert action.name == "discard"


# -- end to end ----------------------------------------------------------------------


async def test_sieve_fcc_flags_and_create(tmp_path: Path) -> None:
    fcc = ':fcc "Replies/Vacation" :create :flags ["\\\\Flagged", "$replied"]'
    script = 'require ["vacation", "fcc", "imap4flags", "mailbox"]; ' + VACATION.format(fcc=fcc)
    async with sieve_server(tmp_path) as server:
        queued = await _reply_filed(server, script)
        assert "Replies/Vacation" in await _imap_list(server)
        ((flags, filed),) = await _imap_folder(server, "Replies/Vacation")
        # RFC 8580 §3.1.1: exactly the :flags given (no implicit \Seen).
        assert filed == queued and flags == {"\\Flagged", "$replied"}
        assert b"Subject: Away" in filed
        assert await _imap_folder(server, "Sent") == []


async def test_sieve_fcc_missing_mailbox_without_create_goes_to_sent(tmp_path: Path) -> None:
    script = 'require ["vacation", "fcc"]; ' + VACATION.format(fcc=':fcc "Nowhere"')
    async with sieve_server(tmp_path) as server:
        queued = await _reply_filed(server, script)
        assert "Nowhere" not in await _imap_list(server)
        ((flags, filed),) = await _imap_folder(server, "Sent")
        assert filed == queued and flags == {"\\Seen"}


async def test_sieve_fcc_specialuse_prefers_the_special_mailbox(tmp_path: Path) -> None:
    fcc = ':fcc "Outbox" :specialuse "\\\\Sent" :create'
    script = 'require ["vacation", "fcc", "special-use", "mailbox"]; ' + VACATION.format(fcc=fcc)
    async with sieve_server(tmp_path) as server:
        queued = await _reply_filed(server, script)
        # RFC 8580 §3.1.3: the \Sent mailbox exists, so the named one is not created.
        assert "Outbox" not in await _imap_list(server)
        ((_, filed),) = await _imap_folder(server, "Sent")
        assert filed == queued


async def test_sieve_fcc_specialuse_falls_back_and_creates_with_the_use(tmp_path: Path) -> None:
    fcc = ':fcc "Sent Items" :specialuse "\\\\Sent" :create'
    script = 'require ["vacation", "fcc", "special-use", "mailbox"]; ' + VACATION.format(fcc=fcc)
    async with sieve_server(tmp_path) as server:
        account = server.accounts[ANN]
        mailboxes = server.kernel.store.mailboxes
        sent = next(m for m in await mailboxes.list(account) if m.role == "sent")
        await mailboxes.update(account, sent.id, role=None)
        queued = await _reply_filed(server, script)
        listed = await _imap_list(server)
        # RFC 8579 §4.1: the created fallback mailbox gets the special use.
        assert "\\Sent" in listed["Sent Items"] and "\\Sent" not in listed["Sent"]
        ((_, filed),) = await _imap_folder(server, "Sent Items")
        assert filed == queued
        assert await _imap_folder(server, "Sent") == []


async def test_sieve_fcc_mailboxid_and_notify(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        account = server.accounts[ANN]
        notes = await server.kernel.store.mailboxes.create(account, "Notes")
        script = (
            'require ["enotify", "fcc", "mailboxid", "imap4flags"];'
            f' notify :fcc "Elsewhere" :mailboxid "F{notes.id}" :flags "\\\\Answered"'
            ' :message "You got mail" "mailto:ken@example.com";'
        )
        await server.install(ANN, script)
        assert await server.send(message("hello"), [ANN]) == {}
        ((queued, _, rcpts),) = await server.queued()
        assert rcpts == ["ken@example.com"]
        ((flags, filed),) = await _imap_folder(server, "Notes")
        assert filed == queued and flags == {"\\Answered"}
        assert b"You got mail" in filed
        # The delivered message itself is kept as usual.
        assert len(await _imap_folder(server, "INBOX")) == 1
