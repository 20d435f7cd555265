"""Mailbox names, LIST patterns, configuration and capability lists (unit tests)."""

from __future__ import annotations

import datetime as dt

import pytest

from plugins.imap.config import ImapConfig, imap_config
from plugins.imap.flags import flag_to_keyword, keyword_to_flag, keywords_to_flags
from plugins.imap.ids import email_id, parse_email_id, parse_mailbox_id, parse_thread_id
from plugins.imap.names import decode_name, normalise, pattern_matcher


def test_names_normalise_inbox_and_trailing_delimiter() -> None:
    assert normalise("inbox") == "INBOX"
    assert normalise("InBoX/Sub") == "INBOX/Sub"
    assert normalise("inboxes") == "inboxes"
    assert normalise("Work/") == "Work"
    assert normalise("Cafe\u0301") == "Café"  # NFC (RFC 9051 §5.1)


def test_names_decode_modified_utf7_or_utf8() -> None:
    assert decode_name("&ZeVnLIqe-", utf8=False) == "日本語"
    assert decode_name("&ZeVnLIqe-", utf8=True) == "&ZeVnLIqe-"
    with pytest.raises(ValueError):
        decode_name("&Jjo!", utf8=False)


@pytest.mark.parametrize(
    ("reference", "pattern", "name", "matches"),
    [
        ("", "*", "a/b/c", True),
        ("", "%", "a/b", False),
        ("", "a/%", "a/b", True),
        ("", "a/%", "a/b/c", False),
        ("a/", "%", "a/b", True),
        ("", "inbox", "INBOX", True),
        ("", "Inbox/%", "INBOX/x", True),
        ("", "a.b", "aXb", False),  # no regex leaks
        ("", "%/%", "Shared/ann@example.org", True),
    ],
)
def test_names_list_patterns(reference: str, pattern: str, name: str, matches: bool) -> None:
    assert bool(pattern_matcher(reference, pattern).fullmatch(name)) is matches


def test_names_flags_map_to_keywords() -> None:
    assert flag_to_keyword("\\Seen") == "$seen"
    assert flag_to_keyword("$Forwarded") == "$forwarded"
    with pytest.raises(ValueError):
        flag_to_keyword("\\Recent")
    assert keyword_to_flag("$flagged") == "\\Flagged"
    assert keywords_to_flags({"zeta", "$seen", "$answered", "alpha"}, recent=True) == (
        "\\Seen",
        "\\Answered",
        "alpha",
        "zeta",
        "\\Recent",
    )


def test_names_object_ids_round_trip_and_kinds_differ() -> None:
    assert parse_email_id(email_id(42)) == 42
    assert parse_thread_id(email_id(42)) is None
    assert parse_mailbox_id("F0") is None and parse_mailbox_id("F12x") is None


def test_names_config_defaults_and_loading() -> None:
    assert imap_config(None) == ImapConfig()
    loaded = imap_config(
        {
            "max_line_length": 9000,
            "max_literal_size": 2048,
            "append_limit": 1 << 20,
            "max_command_size": 1 << 21,
            "max_auth_failures": 2,
            "timeouts": {"authenticated": 3600.0, "unauthenticated": 10.0, "idle": 600.0},
            "max_connections_per_account": 5,
            "timezone": "UTC",
            "server_name": "x",
        }
    )
    assert loaded.append_limit == 1 << 20 and loaded.idle_timeout == 600.0
    assert loaded.timezone.utcoffset(dt.datetime(2024, 1, 1)) == dt.timedelta(0)
