"""Delivery status notifications (RFC 3464): multipart/report with message/delivery-status.

:func:`build_dsn` composes one notification for several recipients of one
message with the same action; :func:`wants` applies the recipient's NOTIFY
(RFC 3461 §4.1) and the null-sender rule.

Implementation notes:

* RFC 3464 §2: three parts: a human-readable explanation, the
  ``message/delivery-status`` fields (per-message, then one group per
  recipient), and the original: the whole message (``message/rfc822``) when
  RET=FULL or, without RET, for failures of messages up to
  :data:`MAX_RETURNED`; otherwise only its header (``text/rfc822-headers``,
  RFC 6522).
* RFC 3461 §4.1: without NOTIFY we act as if it were ``FAILURE,DELAY``;
  ``NEVER`` suppresses every notification; ``SUCCESS`` asks for delivered or
  relayed ones.
* RFC 5321 §4.5.5 and RFC 3464 §3: a notification has the null reverse-path
  (it is itself never bounced), and no notification is ever sent to the null
  reverse-path. RFC 3834 §5: ``Auto-Submitted: auto-replied``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, formatdate
from typing import final

__all__ = ["MAX_RETURNED", "Notice", "build_dsn", "wants"]

#: Largest original returned whole when the sender did not ask for RET.
MAX_RETURNED = 1 << 20

_SUBJECTS = {
    "failed": "Undelivered Mail Returned to Sender",
    "delayed": "Delayed Mail (still being retried)",
    "delivered": "Successful Mail Delivery Report",
    "relayed": "Mail Relayed Report",
}
_EXPLANATIONS = {
    "failed": "could not be delivered to the following recipients; it will not be retried",
    "delayed": "has not yet been delivered to the following recipients; delivery will be "
    "retried until the time given below",
    "delivered": "was delivered to the following recipients",
    "relayed": "was relayed to the following recipients, whose servers do not return "
    "delivery notifications",
}


@final
@dataclass(frozen=True, slots=True)
class Notice:
    """One recipient's line in a notification (RFC 3464 §2.3)."""

    recipient: str
    action: str  # failed, delayed, delivered, relayed
    status: str  # RFC 3463, e.g. 5.1.1
    orcpt: str | None = None  # "rfc822;addr"
    remote_mta: str | None = None
    diagnostic: str | None = None  # the remote reply, "550 5.1.1 no such user"
    last_attempt: float | None = None
    retry_until: float | None = None


def wants(notify: str | None, return_path: str, action: str) -> bool:
    """Whether a notification of ``action`` goes to ``return_path`` (RFC 3461 §4.1)."""
    if not return_path:
        return False  # RFC 5321 §4.5.5: never to the null reverse-path
    asked = {n.strip().upper() for n in (notify or "FAILURE,DELAY").split(",")}
    if "NEVER" in asked:
        return False
    wanted = {"failed": "FAILURE", "delayed": "DELAY", "delivered": "SUCCESS", "relayed": "SUCCESS"}
    return wanted[action] in asked


def _date(when: float) -> str:
    return format_datetime(datetime.fromtimestamp(when, UTC))


def _header_block(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return raw if end < 0 else raw[: end + 2]


def _field(value: str) -> str:
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def build_dsn(
    *,
    reporting_mta: str,
    return_path: str,
    notices: Sequence[Notice],
    original: bytes,
    arrival: float,
    env_id: str | None = None,
    ret: str | None = None,
    now: float | None = None,
) -> bytes:
    """The notification's bytes (CRLF line ends), addressed to ``return_path``."""
    when = time.time() if now is None else now
    action = notices[0].action
    boundary = f"=_dsn_{secrets.token_hex(12)}"
    message_id = f"<{secrets.token_hex(12)}@{reporting_mta}>"
    lines = [
        f"From: Mail Delivery System <MAILER-DAEMON@{reporting_mta}>",
        f"To: <{return_path}>",
        f"Subject: {_SUBJECTS[action]}",
        f"Date: {formatdate(when)}",
        f"Message-ID: {message_id}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated delivery status notification.",
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        f"This is the mail system at {reporting_mta}.",
        "",
        f"Your message {_EXPLANATIONS[action]}:",
        "",
    ]
    for notice in notices:
        reason = _field(notice.diagnostic or notice.status)
        lines.append(f"  <{notice.recipient}>: {reason}")
    lines += ["", f"--{boundary}", "Content-Type: message/delivery-status", ""]
    # RFC 3464 §2.2: per-message fields.
    lines.append(f"Reporting-MTA: dns; {reporting_mta}")
    if env_id:
        lines.append(f"Original-Envelope-Id: {_field(env_id)}")
    lines.append(f"Arrival-Date: {_date(arrival)}")
    for notice in notices:
        # RFC 3464 §2.3: per-recipient fields, each group after a blank line.
        lines.append("")
        if notice.orcpt:
            kind, _, address = notice.orcpt.partition(";")
            lines.append(f"Original-Recipient: {kind}; {_field(address)}")
        lines.append(f"Final-Recipient: rfc822; {notice.recipient}")
        lines.append(f"Action: {notice.action}")
        lines.append(f"Status: {notice.status}")
        if notice.remote_mta:
            lines.append(f"Remote-MTA: dns; {notice.remote_mta}")
        if notice.diagnostic:
            lines.append(f"Diagnostic-Code: smtp; {_field(notice.diagnostic)}")
        if notice.last_attempt is not None:
            lines.append(f"Last-Attempt-Date: {_date(notice.last_attempt)}")
        if notice.retry_until is not None and notice.action == "delayed":
            lines.append(f"Will-Retry-Until: {_date(notice.retry_until)}")
    full = ret == "FULL" or (ret is None and action == "failed" and len(original) <= MAX_RETURNED)
    lines += ["", f"--{boundary}"]
    if full:
        lines += ["Content-Type: message/rfc822", ""]
        body = original if original.endswith(b"\n") else original + b"\r\n"
    else:
        lines += ["Content-Type: text/rfc822-headers", ""]
        body = _header_block(original)
    head = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    return head + body + f"\r\n--{boundary}--\r\n".encode("ascii")
