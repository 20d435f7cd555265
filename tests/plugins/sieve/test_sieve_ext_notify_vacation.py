"""enotify (RFC 5435) with mailto (RFC 5436), the deprecated notify draft, vacation
(RFC 5230, RFC 6131) and the messages they send (plugins.sieve.compose)."""

from __future__ import annotations

from sieve_support import ENVELOPE, MESSAGE, NOW, compile_error, names, run

from plugins.sieve import (
    Envelope,
    MessageView,
    Notify,
    Settings,
    Vacation,
    notify_messages,
    vacation_reply,
)
from plugins.sieve.extensions.notify import valid_method
from plugins.sieve.mailto import parse_mailto


def test_mailto_parsing() -> None:
    uri = parse_mailto(
        "mailto:a@example.com%2Cb@example.com?cc=c@example.com&subject=Hi%20there&x-y=z"
    )
    assert uri is not None
    assert uri.recipients == ["a@example.com", "b@example.com", "c@example.com"]
    assert uri.subject == "Hi there" and uri.headers == [("x-y", "z")]
    assert parse_mailto("mailto:not-an-address") is None
    assert parse_mailto("mailto:?subject=no-recipient") is None
    assert parse_mailto("mailto:a@example.com?from=evil@example.com").headers == []  # type: ignore[union-attr]


def test_valid_notify_method() -> None:
    assert valid_method("mailto:stephan@example.org")
    assert not valid_method("xmpp:stephan@example.org")
    assert not valid_method("mailto:stephan@example.org;?header=frop")
    assert not valid_method("mailto:stephan@example.org?header:=frop")
    source = 'require "enotify"; if valid_notify_method ["mailto:a@example.com", "tel:+1"]'
    assert names(run(source + " { discard; }")) == ["implicit-keep"]
    source = (
        'require "enotify"; if notify_method_capability "mailto:a@example.com" "online" "maybe"'
    )
    assert names(run(source + " { discard; }")) == ["discard"]


def test_notify_validation_at_compile_time() -> None:
    assert "invalid or unsupported" in str(compile_error('require "enotify"; notify "snailto:x";'))
    assert ":importance" in str(
        compile_error('require "enotify"; notify :importance "4" "mailto:a@b.c";')
    )
    assert "invalid notify option" in str(
        compile_error('require "enotify"; notify :options "x" "mailto:a@b.c";')
    )
    assert ":from address" in str(
        compile_error('require "enotify"; notify :from "x#y" "mailto:a@b.c";')
    )


def test_notify_action_and_messages() -> None:
    outcome = run(
        'require "enotify"; notify :importance "1" :message "You got mail"'
        ' "mailto:alert@example.com?cc=boss@example.com";'
    )
    action = outcome.actions[0]
    assert action == Notify(
        "mailto:alert@example.com?cc=boss@example.com", None, "1", (), "You got mail"
    )
    already: set[str] = set()
    messages = notify_messages(
        action, ENVELOPE, MessageView(MESSAGE), Settings(), NOW, "id@x", already
    )
    assert [m.recipients for m in messages] == [("alert@example.com",), ("boss@example.com",)]
    data = messages[0].data
    assert b"Auto-Submitted: auto-notified" in data and b"X-Priority: 1 (Highest)" in data
    assert b"Subject: You got mail" in data
    # RFC 5436 §2.7: each recipient once per delivery; nothing about auto-submitted mail.
    assert (
        notify_messages(action, ENVELOPE, MessageView(MESSAGE), Settings(), NOW, "i", already) == []
    )
    automated = MessageView(b"Auto-Submitted: auto-replied\r\n\r\nx")
    assert notify_messages(action, ENVELOPE, automated, Settings(), NOW, "i", set()) == []


def test_deprecated_notify_and_denotify() -> None:
    outcome = run(
        'require "notify";'
        'notify :id "a" :options "x@example.com"; notify :id "b" :low :options "y@example.com";'
        'denotify :is "a";'
    )
    (remaining, _keep) = outcome.actions
    assert isinstance(remaining, Notify) and remaining.id == "b" and remaining.importance == "3"
    messages = notify_messages(
        remaining, ENVELOPE, MessageView(MESSAGE), Settings(), NOW, "i", set()
    )
    assert b"Alice Example <alice@example.org>: Hello there" in messages[0].data


def test_vacation_action_period_and_handle() -> None:
    (vacation, _keep) = run('require "vacation"; vacation :days 3 :subject "Away" "Gone";').actions
    assert isinstance(vacation, Vacation) and vacation.period == 3 * 86400
    (short, _keep) = run('require "vacation-seconds"; vacation :seconds 1 "Gone";').actions
    assert isinstance(short, Vacation) and short.period == 86400  # raised to the minimum
    other = run('require "vacation"; vacation :subject "Away" "Back soon";').actions[0]
    assert isinstance(other, Vacation) and other.handle != vacation.handle
    assert not run('require "vacation"; vacation "a"; vacation "b";').ok


def reply(
    source_tail: str, message: bytes = MESSAGE, envelope: Envelope = ENVELOPE, **kw: object
) -> bytes | None:
    action = run('require "vacation"; vacation ' + source_tail + ";", message, envelope).actions[0]
    assert isinstance(action, Vacation)
    settings = Settings(**kw)  # type: ignore[arg-type]
    outgoing = vacation_reply(action, envelope, MessageView(message), settings, NOW, "r@x")
    if outgoing is None:
        return None
    assert outgoing.mail_from == "" and outgoing.recipients == (envelope.mail_from,)
    return outgoing.data


def test_vacation_reply_content() -> None:
    data = reply('"I am away."')
    assert data is not None
    assert b'To: "Alice Example" <alice@example.org>' in data
    assert b"From: bob+lists@example.com" in data
    assert b"Subject: Auto: Hello there" in data
    assert b"In-Reply-To: <msg1@example.org>" in data and b"References: <msg1@example.org>" in data
    assert b"Auto-Submitted: auto-replied" in data and data.endswith(b"I am away.\r\n")


def test_vacation_reply_suppressed_when_it_should_be() -> None:
    # RFC 5230 §4.5/§4.6: not to lists, bulk, automated or system senders, not when the
    # message is not addressed to the user, never to the null sender.
    assert reply('"x"', b"List-Id: <l.example.com>\r\nTo: bob+lists@example.com\r\n\r\nb") is None
    assert reply('"x"', b"Precedence: bulk\r\nTo: bob+lists@example.com\r\n\r\nb") is None
    assert (
        reply('"x"', b"Auto-Submitted: auto-generated\r\nTo: bob+lists@example.com\r\n\r\nb")
        is None
    )
    system = Envelope("MAILER-DAEMON@example.org", "bob+lists@example.com")
    assert reply('"x"', envelope=system) is None
    assert reply('"x"', envelope=Envelope("", "bob+lists@example.com")) is None
    assert reply('"x"', b"To: someone@example.net\r\n\r\nb") is None
    assert reply('"x"', b"To: someone@example.net\r\n\r\nb", vacation_dont_check_recipient=True)
    assert reply(':addresses "someone@example.net" "x"', b"To: someone@example.net\r\n\r\nb")
