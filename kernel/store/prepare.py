"""What append computes before its transaction: parse, hash, texts, thread keys.

Append does this before its write (in a worker thread for a message over 16 KB,
inline for a smaller one, where the thread round trip would cost more than the
parse), so the write function run on the writer only inserts rows (see
:mod:`kernel.store.emails`).

Threads (RFC 8621 §3): an Email joins the thread of an Email it references
(Message-ID, In-Reply-To, References) or that references it, provided their
base subjects match (RFC 5256 §2.1, simplified); otherwise it starts one.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import final

from kernel.mail import parse_message, preview, to_json, walk
from kernel.store.email_text import EmailText, extract
from kernel.store.interfaces import WriteOps
from kernel.store.mail_records import EmailRow

__all__ = ["Prepared", "assign_thread", "base_subject"]

_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv|vs)\s*(\[\d+\])?\s*:\s*|\[[^\]]*\]\s*)+", re.I)
_SUBJECT_TRAILER = re.compile(r"(\s*\(fwd\))+\s*$", re.I)


def base_subject(subject: str) -> str:
    """Subject without reply/forward prefixes and list tags, whitespace collapsed."""
    text = " ".join(subject.split())
    while True:
        stripped = _SUBJECT_TRAILER.sub("", _SUBJECT_PREFIX.sub("", text)).strip()
        if stripped == text:
            return stripped.lower()
        text = stripped


@final
class Prepared:
    """A message ready to be inserted: its row fields, blob id and texts."""

    def __init__(self, account: int, raw: bytes, received: float) -> None:
        message = parse_message(raw)
        self.account = account
        self.received = received
        self.blob = hashlib.sha256(raw).hexdigest()
        self.message_id = message.message_id
        self.references = [*message.in_reply_to, *message.references]
        self.subject = message.subject or ""
        self.base_subject = base_subject(self.subject)
        sender = message.from_[0] if message.from_ else None
        self.sender = getattr(sender, "email", "") or ""
        self.sent_at = message.date.timestamp() if message.date else None
        self.has_attachment = any(part.is_attachment for part in walk(message.root))
        self.preview = preview(raw, message)
        self.structure = json.dumps(to_json(message), separators=(",", ":"))
        self.size = len(raw)
        self.text: EmailText = extract(raw, message)

    def row(self, modseq: int, thread: int) -> EmailRow:
        return EmailRow(
            account=self.account,
            blob=self.blob,
            thread=thread,
            received_at=self.received,
            size=self.size,
            sent_at=self.sent_at,
            message_id=self.message_id,
            subject=self.subject,
            base_subject=self.base_subject,
            sender=self.sender,
            has_attachment=self.has_attachment,
            preview=self.preview,
            structure=self.structure,
            modseq=modseq,
        )


def assign_thread(ops: WriteOps, account: int, email: int, prepared: Prepared) -> int:
    """Assign the new email's thread (RFC 8621 §3) and index its message ids."""
    ids = [i for i in [prepared.message_id, *prepared.references] if i]
    thread = email
    for candidate in ops.threads_for(account, ids):
        if ops.thread_has_subject(account, candidate, prepared.base_subject):
            thread = candidate
            break
    ops.set_email_thread(email, thread)
    ops.add_thread_refs(account, thread, ids)
    return thread
