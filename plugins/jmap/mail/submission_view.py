"""What the EmailSubmission methods share: the JMAP form of a queued submission
(RFC 8621 §7), the envelope derived from a message (§7 "envelope"), and the
message as it is sent (Bcc removed, §7.5).

Implementation notes:

* A submission is an outbound-queue message with ``account`` set
  (:mod:`kernel.store.queue`); its id is ``S`` plus the queue id.
* ``undoStatus``: ``canceled`` once canceled; ``pending`` while no delivery
  of any recipient has been attempted (the send may still be undone: a
  delayed send until its ``sendAt``); ``final`` otherwise.
* ``deliveryStatus`` per recipient from the queue: ``queued`` while pending or
  deferred, ``yes`` delivered, ``no`` failed (or canceled); ``smtpReply`` is the
  last reply, or ``250 2.0.0 Queued`` before the first attempt; ``displayed``
  is always ``unknown`` (no MDN processing).
"""

from __future__ import annotations

import re
from typing import Any, Final

from kernel.mail.addresses import Address, Group, parse_address_list
from kernel.mail.headers import Header, parse_header_block
from kernel.store import QueuedMessage
from plugins.jmap.ids import EMAIL, SUBMISSION, THREAD, decode_id, encode_id
from plugins.jmap.mail.email_header_forms import utc_date_json
from plugins.jmap.mail.identity_view import encode_identity

__all__ = [
    "MAX_DELAYED_SEND",
    "MAX_RECIPIENTS",
    "MAX_SIZE",
    "PROPERTIES",
    "decode_submission",
    "derive_envelope",
    "encode_submission",
    "header_addresses",
    "is_valid_address",
    "strip_bcc",
    "submission_object",
    "undo_status",
]

#: The longest a submission may be held (seconds; RFC 8621 §1.3.2 maxDelayedSend,
#: RFC 4865 FUTURERELEASE max-future-release-interval): 30 days.
MAX_DELAYED_SEND: Final = 30 * 86400
#: The most recipients one submission may have (§7.5 tooManyRecipients).
MAX_RECIPIENTS: Final = 1000
#: The largest message a submission may send, in octets (§7.5 tooLarge).
MAX_SIZE: Final = 50 * 1024 * 1024

#: RFC 8621 §7 EmailSubmission properties.
PROPERTIES: Final = (
    "id",
    "identityId",
    "emailId",
    "threadId",
    "envelope",
    "sendAt",
    "undoStatus",
    "deliveryStatus",
    "dsnBlobIds",
    "mdnBlobIds",
)

# RFC 5321 §4.1.2 Mailbox, simplified: a local part without spaces or angle
# brackets, "@", a domain of dot-separated labels (or an address literal).
_MAILBOX: Final = re.compile(
    r"^[^\s<>@\"(),:;\\\[\]]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[^\[\]\s]+\])$"
)


def encode_submission(key: int) -> str:
    """The JMAP id of queue message ``key``."""
    return encode_id(SUBMISSION, key)


def decode_submission(value: str) -> int | None:
    """The queue message id behind a submission id (None: not one of ours)."""
    return decode_id(SUBMISSION, value)


def is_valid_address(value: Any) -> bool:
    """Whether ``value`` is an address SMTP can send to (RFC 5321 §4.1.2)."""
    return isinstance(value, str) and len(value) <= 254 and bool(_MAILBOX.match(value))


def undo_status(message: QueuedMessage) -> str:
    """``pending``, ``final`` or ``canceled`` (see the module notes)."""
    if message.undo_status == "canceled":
        return "canceled"
    if message.recipients and all(
        r.attempts == 0 and r.next_attempt is not None for r in message.recipients
    ):
        return "pending"
    return "final"


def _delivery(message: QueuedMessage) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in message.recipients:
        if r.status == "delivered":
            delivered = "yes"
        elif r.status == "failed":
            delivered = "no"
        else:
            delivered = "queued"
        if r.last_code is not None:
            reply = " ".join(
                str(p) for p in (r.last_code, r.last_status, r.last_error) if p is not None
            )
        elif message.undo_status == "canceled":
            reply = "550 5.7.0 Canceled by the user"
        else:
            reply = "250 2.0.0 Queued"
        out[r.recipient] = {"smtpReply": reply, "delivered": delivered, "displayed": "unknown"}
    return out


def submission_object(message: QueuedMessage) -> dict[str, Any]:
    """The EmailSubmission object of an account's queued message (§7)."""
    return {
        "id": encode_submission(message.id),
        "identityId": None if message.identity is None else encode_identity(message.identity),
        "emailId": None if message.email is None else encode_id(EMAIL, message.email),
        "threadId": None if message.thread is None else encode_id(THREAD, message.thread),
        "envelope": {
            "mailFrom": {"email": message.return_path, "parameters": None},
            "rcptTo": [{"email": r.recipient, "parameters": None} for r in message.recipients],
        },
        "sendAt": utc_date_json(message.send_at),
        "undoStatus": undo_status(message),
        "deliveryStatus": _delivery(message),
        "dsnBlobIds": [],
        "mdnBlobIds": [],
    }


def _top_headers(raw: bytes) -> list[Header]:
    return parse_header_block(raw)


def header_addresses(raw: bytes, name: str) -> list[str] | None:
    """The addresses of every top-level ``name`` field (None: no such field)."""
    fields = [h for h in _top_headers(raw) if h.lower_name == name]
    if not fields:
        return None
    out: list[str] = []
    for field in fields:
        for item in parse_address_list(field.unfolded().decode("utf-8", "replace")):
            members = item.addresses if isinstance(item, Group) else (item,)
            out.extend(a.email for a in members if isinstance(a, Address) and a.email)
    return out


def derive_envelope(raw: bytes) -> tuple[str | None, list[str]]:
    """``(mailFrom, rcptTo)`` from the message (§7 "envelope"): the Sender address,
    else the single From address (None when neither gives exactly one); the
    deduplicated To, Cc and Bcc addresses."""
    sender = header_addresses(raw, "sender")
    source = sender if sender is not None else header_addresses(raw, "from")
    mail_from = source[0] if source is not None and len(source) == 1 else None
    rcpt: dict[str, None] = {}
    for name in ("to", "cc", "bcc"):
        for address in header_addresses(raw, name) or []:
            rcpt.setdefault(address, None)
    return mail_from, list(rcpt)


def strip_bcc(raw: bytes) -> bytes:
    """The message without its top-level Bcc fields (§7.5: "The server MUST remove
    any Bcc header field present on the message during delivery")."""
    spans = [(h.start, h.end) for h in _top_headers(raw) if h.lower_name == "bcc"]
    if not spans:
        return raw
    out = bytearray()
    last = 0
    for start, end in spans:
        out += raw[last:start]
        last = end
    out += raw[last:]
    return bytes(out)
