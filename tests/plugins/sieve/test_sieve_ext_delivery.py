"""fileinto (RFC 5228 §4.1) with :copy, :flags, :create, :specialuse, :mailboxid, and the
mailbox tests: mailbox (RFC 5490), special-use (RFC 8579), mailboxid (RFC 9042)."""

from __future__ import annotations

from sieve_support import host, names, run

from plugins.sieve import FileInto, Keep


def test_fileinto_tags_reach_the_action() -> None:
    source = (
        'require ["fileinto", "copy", "imap4flags", "mailbox", "special-use", "mailboxid"];\n'
        'fileinto :copy :flags "\\\\Seen $Work" :create :specialuse "\\\\Junk"'
        ' :mailboxid "F123" "Spam";'
    )
    action = run(source).actions[0]
    assert action == FileInto(
        "Spam",
        copy=True,
        flags=("\\Seen", "$Work"),
        create=True,
        special_use="\\Junk",
        mailbox_id="F123",
    )


def test_fileinto_inbox_is_case_insensitive_for_duplicates() -> None:
    # RFC 9051 §5.1: INBOX is case-insensitive, so these are one store.
    source = 'require "fileinto"; fileinto "inbox.Lists"; fileinto "INBOX.Lists"; keep;'
    assert run(source).actions == (FileInto("INBOX.Lists"), Keep())


def test_fileinto_invalid_utf8_mailbox_is_rejected() -> None:
    outcome = run(
        'require ["fileinto", "variables", "encoded-character"];'
        'set "box" "${hex:ff}x"; fileinto "${box}";'
    )
    assert not outcome.ok and "not valid UTF-8" in str(outcome.error)


def test_mailboxexists_asks_the_host() -> None:
    source = 'require ["mailbox", "fileinto"]; if mailboxexists ["INBOX", "Lists"] { discard; }'
    assert names(run(source, static=host(mailboxes={"INBOX"}))) == ["implicit-keep"]
    assert names(run(source, static=host(mailboxes={"INBOX", "Lists"}))) == ["discard"]


def test_specialuse_exists() -> None:
    static = host(mailboxes={"INBOX", "Spam"}, special_uses={"Spam": {"\\Junk"}})
    source = 'require "special-use"; if specialuse_exists "\\\\Junk" { discard; }'
    assert names(run(source, static=static)) == ["discard"]
    source = 'require "special-use"; if specialuse_exists "INBOX" "\\\\Junk" { discard; }'
    assert names(run(source, static=static)) == ["implicit-keep"]
    source = 'require "special-use"; if specialuse_exists "\\\\Trash" { discard; }'
    assert names(run(source, static=static)) == ["implicit-keep"]


def test_mailboxidexists() -> None:
    static = host(mailbox_ids={"F1": "Lists"})
    source = 'require "mailboxid"; if mailboxidexists "F1" { discard; }'
    assert names(run(source, static=static)) == ["discard"]
    source = 'require "mailboxid"; if mailboxidexists ["F1", "F2"] { discard; }'
    assert names(run(source, static=static)) == ["implicit-keep"]
