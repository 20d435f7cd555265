"""Messages that actions send: redirected copies, reject notices, notifications.

These are pure functions (no I/O): the host calls them when it carries out a
:class:`~plugins.sieve.actions.Redirect`, :class:`~plugins.sieve.actions.Reject` or
:class:`~plugins.sieve.actions.Notify` and hands the resulting
:class:`OutgoingMessage` values to its outbound queue. Vacation replies are composed by
:func:`plugins.sieve.extensions.vacation.vacation_reply`.

Implementation notes:

- Redirect (RFC 5228 §4.2): the message is sent unchanged (editheader changes
  included) apart from the loop-protection field (``X-Sieve-Redirected-From`` by
  default, as Pigeonhole); the envelope sender is chosen by
  ``Settings.redirect_envelope_from``, and a null sender always stays null.
- Reject (RFC 5429 §2.1-§2.2): a ``multipart/report`` (RFC 3464) to the envelope sender
  from the postmaster, holding the reason and the original header; nothing is sent for a
  null sender. ``ereject`` at SMTP time is the host's business (an SMTP reply).
- Notifications: mailto (RFC 5436 §2) messages carry ``Auto-Submitted: auto-notified``
  (§2.7: none is sent about a message that is itself auto-submitted), an importance,
  and go to each recipient once per delivery; the deprecated draft's notifications
  carry ``Auto-Submitted: auto-generated`` and substitute ``$from$``, ``$env-from$``,
  ``$subject$``, ``$text$`` and ``$text[n]$`` in the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import final

from plugins.sieve.actions import Notify, Redirect, Reject
from plugins.sieve.headers import encode_header_value, fold_field
from plugins.sieve.host import Envelope
from plugins.sieve.mailto import parse_mailto
from plugins.sieve.message import MessageView
from plugins.sieve.settings import Settings

__all__ = [
    "OutgoingMessage",
    "auto_submitted",
    "envelope_sender",
    "first_text",
    "notify_messages",
    "redirect_message",
    "reject_message",
]

_EOL = "\r\n"
_IMPORTANCE = {
    "1": ("1 (Highest)", "High"),
    "2": ("3 (Normal)", "Normal"),
    "3": ("5 (Lowest)", "Low"),
}
_LEGACY_TEXT = re.compile(r"\$text(?:\[(\d+)\])?\$")


@final
@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message for the outbound queue: MAIL FROM (``""``: null), RCPT TOs, content."""

    mail_from: str
    recipients: tuple[str, ...]
    data: bytes


def auto_submitted(message: MessageView) -> bool:
    """Whether the message says it was generated automatically (Auto-Submitted not "no")."""
    return any(v.split(";")[0].strip().lower() != "no" for v in message.values("auto-submitted"))


def envelope_sender(setting: str, envelope: Envelope, settings: Settings) -> str:
    """The MAIL FROM a setting such as ``sender`` or ``<a@b>`` stands for.

    A null original sender always gives the null sender (no bounces of bounces).
    """
    if envelope.mail_from == "":
        return ""
    choice = setting.strip()
    lower = choice.lower()
    if lower == "recipient":
        return envelope.rcpt_to
    if lower == "orig_recipient":
        return envelope.original_recipient
    if lower == "user_email":
        return settings.user_email or envelope.rcpt_to
    if lower == "postmaster":
        return settings.postmaster
    if choice.startswith("<") and choice.endswith(">"):
        return choice[1:-1].strip()
    return envelope.mail_from


def _header(name: str, value: str) -> str:
    return fold_field(name, encode_header_value(value), _EOL)


def _common(now: datetime, message_id: str) -> str:
    return (
        _header("Date", format_datetime(now))
        + _header("Message-ID", f"<{message_id}>")
        + _header("MIME-Version", "1.0")
    )


def first_text(message: MessageView) -> str:
    """The text of the message's first ``text/plain`` (else ``text/*``) part."""
    from plugins.sieve.extensions.body import part_text

    texts = [p for p in message.parts() if p.content_type == "text" and not p.children]
    plain = [p for p in texts if p.subtype == "plain"]
    chosen = plain or texts
    return part_text(message, chosen[0]) if chosen else ""


def redirect_message(
    action: Redirect, envelope: Envelope, message: bytes, settings: Settings
) -> OutgoingMessage | None:
    """RFC 5228 §4.2: the message as it stands, to the new address.

    With ``Settings.redirect_loop_header`` set, the copy carries that field with the
    user's address, and a message that already carries it with the user's address (or
    the final recipient) is not redirected again: ``None`` (RFC 5228 §4.2 asks for
    measures against mail loops).
    """
    sender = envelope_sender(settings.redirect_envelope_from, envelope, settings)
    field = settings.redirect_loop_header
    if field:
        user = settings.user_email or envelope.rcpt_to
        view = MessageView(message)
        mine = {user.lower(), envelope.rcpt_to.lower()}
        if any(value.strip("<> ").lower() in mine for value in view.values(field)):
            return None
        view.add(field, user)
        message = view.to_bytes()
    return OutgoingMessage(sender, (action.address,), message)


def reject_message(
    action: Reject,
    envelope: Envelope,
    original: MessageView,
    settings: Settings,
    now: datetime,
    message_id: str,
) -> OutgoingMessage | None:
    """RFC 5429 §2.1/§2.2: a report to the sender saying the message was refused."""
    if envelope.mail_from == "":
        return None
    boundary = f"{message_id}/reject"
    recipient = envelope.original_recipient
    head = (
        _header("From", f"Mail Delivery Subsystem <{settings.postmaster}>")
        + _header("To", f"<{envelope.mail_from}>")
        + _header("Subject", "Rejected: " + " ".join(original.values("subject")[:1]))
        + _common(now, message_id)
        + _header("Auto-Submitted", "auto-replied (rejected)")
        + _header(
            "Content-Type",
            f'multipart/report; report-type=delivery-status; boundary="{boundary}"',
        )
    )
    reason = action.reason.replace("\r\n", "\n").replace("\n", _EOL)
    body = (
        f"This is a MIME-encapsulated message{_EOL}{_EOL}--{boundary}{_EOL}"
        f"Content-Type: text/plain; charset=utf-8{_EOL}"
        f"Content-Transfer-Encoding: 8bit{_EOL}{_EOL}"
        f"Your message to <{recipient}> was automatically rejected:{_EOL}{reason}{_EOL}"
        f"{_EOL}--{boundary}{_EOL}Content-Type: message/delivery-status{_EOL}{_EOL}"
        f"Reporting-MTA: dns; localhost{_EOL}{_EOL}"
        f"Final-Recipient: rfc822; {recipient}{_EOL}Action: failed{_EOL}"
        f"Status: 5.7.1{_EOL}{_EOL}--{boundary}{_EOL}"
        f"Content-Type: text/rfc822-headers{_EOL}{_EOL}"
    )
    original_head = original.raw[: original.root.header_end]
    data = (
        (head + _EOL + body).encode("utf-8", "surrogateescape")
        + original_head
        + f"{_EOL}--{boundary}--{_EOL}".encode()
    )
    return OutgoingMessage("", (envelope.mail_from,), data)


def _legacy_text(template: str, message: MessageView, envelope: Envelope) -> str:
    subject = (message.values("subject") or [""])[0]
    sender = (message.values("from") or [""])[0]
    text = template.replace("$from$", sender).replace("$env-from$", envelope.mail_from)
    text = text.replace("$subject$", subject)
    if "$text" in text:
        body = first_text(message)
        text = _LEGACY_TEXT.sub(
            lambda m: body if m.group(1) is None else body[: int(m.group(1))], text
        )
    return text


def _notify_sender(action: Notify, envelope: Envelope, settings: Settings) -> str:
    if envelope.mail_from == "":
        return ""
    if settings.notify_envelope_from:
        return envelope_sender(settings.notify_envelope_from, envelope, settings)
    return action.from_address or settings.postmaster


def notify_messages(
    action: Notify,
    envelope: Envelope,
    message: MessageView,
    settings: Settings,
    now: datetime,
    message_id: str,
    already: set[str],
) -> list[OutgoingMessage]:
    """The messages a notification sends, one per recipient not in ``already``
    (updated), none for an auto-submitted message.
    """
    if auto_submitted(message):
        return []
    if action.legacy:
        to = [(a, a) for a in action.options]
        cc: list[tuple[str, str]] = []
        bcc: list[tuple[str, str]] = []
        template = action.message if action.message is not None else "$from$: $subject$"
        text = _legacy_text(template, message, envelope)
        subject = text.splitlines()[0] if text else ""
        headers: list[tuple[str, str]] = []
        auto = "auto-generated (notify)"
    else:
        uri = parse_mailto(action.method)
        if uri is None:
            return []
        to, cc, bcc = uri.to, uri.cc, uri.bcc
        original_subject = (message.values("subject") or [""])[0]
        subject = uri.subject or action.message or f"[SIEVE] New mail: {original_subject}"
        text = uri.body if uri.body is not None else (action.message or subject)
        headers = uri.headers
        auto = "auto-notified"

    def fresh(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        kept = []
        for display, email in pairs:
            if email.lower() not in already:
                already.add(email.lower())
                kept.append((display, email))
        return kept

    to, cc, bcc = fresh(to), fresh(cc), fresh(bcc)
    recipients = tuple(email for _, email in (*to, *cc, *bcc))
    if not recipients:
        return []
    priority, importance = _IMPORTANCE.get(action.importance, _IMPORTANCE["2"])
    sender = action.from_address or settings.user_email or settings.postmaster
    head = _header("From", sender)
    if to:
        head += _header("To", ", ".join(display for display, _ in to))
    if cc:
        head += _header("Cc", ", ".join(display for display, _ in cc))
    head += _header("Subject", subject) + _common(now, message_id)
    head += _header("Auto-Submitted", auto) + _header("X-Sieve", "Sieve notify")
    head += _header("X-Priority", priority) + _header("Importance", importance)
    for name, value in headers:
        head += _header(name, value)
    head += _header("Content-Type", "text/plain; charset=utf-8")
    head += _header("Content-Transfer-Encoding", "8bit")
    body = text.replace("\r\n", "\n").replace("\n", _EOL)
    data = (head + _EOL + body + _EOL).encode("utf-8", "surrogateescape")
    mail_from = _notify_sender(action, envelope, settings)
    return [OutgoingMessage(mail_from, (rcpt,), data) for rcpt in recipients]
