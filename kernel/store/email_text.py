"""The searchable and sortable texts of a message, extracted once at append.

What is kept (all case-folded, see :func:`kernel.store.filters.normalise_text`):

* ``from``, ``to``, ``cc``, ``bcc``, ``subject``: the decoded field values
  (RFC 2047 words decoded, folds removed), every occurrence joined by a line
  break; what IMAP SEARCH FROM/TO/CC/BCC/SUBJECT and JMAP's filters look in.
* ``headers``: every header field of the message as ``"\\nname: value"`` lines
  (name lower-case, value decoded and unfolded, so a line never holds a
  break), for IMAP SEARCH HEADER and TEXT and JMAP ``header``.
* ``body``: the text of every ``text/*`` part, HTML reduced to its visible
  text, encapsulated messages included, up to :data:`MAX_BODY_TEXT`
  characters (RFC 8621 §4.4.1 lets a server skip non-text parts).
* sort keys (RFC 5256 §3, RFC 5957): the first From/To/Cc address's mailbox
  part, and the first From/To display name or else address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

from kernel.mail import (
    Address,
    Group,
    Message,
    decode_text,
    decode_words,
    header_text,
    html_to_text,
    walk,
)
from kernel.mail.headers import scan_fields
from kernel.store.filters import EmailFacts, normalise_text

__all__ = [
    "MAX_BODY_TEXT",
    "EmailText",
    "extract",
    "facts_from",
    "header_pairs",
    "parse_headers_text",
]

#: Characters of body text indexed per message.
MAX_BODY_TEXT = 1_000_000


@final
@dataclass(frozen=True, slots=True)
class EmailText:
    """The texts of one email as the store keeps them (see the module docstring)."""

    from_text: str
    to_text: str
    cc_text: str
    bcc_text: str
    subject_text: str
    headers: str
    body: str
    sort_from: str
    sort_to: str
    sort_cc: str
    display_from: str
    display_to: str

    def texts(self) -> dict[str, str]:
        """The searchable texts by :class:`~kernel.store.filters.Contains` field name."""
        return {
            "from": self.from_text,
            "to": self.to_text,
            "cc": self.cc_text,
            "bcc": self.bcc_text,
            "subject": self.subject_text,
            "headers": self.headers,
            "body": self.body,
        }


def _first_address(addresses: tuple[Address | Group, ...]) -> Address | None:
    for item in addresses:
        if isinstance(item, Address):
            return item
        if item.addresses:
            return item.addresses[0]
    return None


def _mailbox_key(addresses: tuple[Address | Group, ...]) -> str:
    # RFC 5256 §3: the addr-mailbox (local part) of the first address.
    first = _first_address(addresses)
    return normalise_text(first.email.rpartition("@")[0] or first.email) if first else ""


def _display_key(addresses: tuple[Address | Group, ...]) -> str:
    # RFC 5957 §2 and RFC 8621 §4.4.2: the display name, else the address.
    first = _first_address(addresses)
    if first is None:
        return ""
    return normalise_text((first.name or "").strip() or first.email)


def _body_text(raw: bytes, message: Message) -> str:
    pieces: list[str] = []
    budget = MAX_BODY_TEXT
    for part in walk(message.root):
        if budget <= 0:
            break
        if part.content_type != "text":
            continue
        text = decode_text(raw, part, limit=budget * 4)
        if part.subtype == "html":
            text = html_to_text(text)
        pieces.append(text[:budget])
        budget -= len(pieces[-1])
    return normalise_text("\n".join(pieces)).replace("\0", " ")


def header_pairs(raw: bytes, message: Message) -> list[tuple[str, str]]:
    """(lower-case name, decoded unfolded value) of every top-level header field."""
    pairs = []
    fields, _ = scan_fields(raw, message.start, message.root.header_end)
    for name, value_start, value_end, _, _ in fields:
        text = decode_words(header_text(raw[value_start:value_end]))
        if "\r" in text or "\n" in text:
            text = text.replace("\r", " ").replace("\n", " ")
        pairs.append((name.decode("latin-1").lower(), text))
    return pairs


def extract(raw: bytes, message: Message) -> EmailText:
    """The texts of ``raw`` (parsed as ``message``); NUL characters become spaces."""
    pairs = [(n.replace("\0", " "), v.replace("\0", " ")) for n, v in header_pairs(raw, message)]

    def joined(name: str) -> str:
        return normalise_text("\n".join(v for n, v in pairs if n == name))

    return EmailText(
        from_text=joined("from"),
        to_text=joined("to"),
        cc_text=joined("cc"),
        bcc_text=joined("bcc"),
        subject_text=joined("subject"),
        headers="".join(f"\n{n}: {normalise_text(v)}" for n, v in pairs),
        body=_body_text(raw, message),
        sort_from=_mailbox_key(message.from_),
        sort_to=_mailbox_key(message.to),
        sort_cc=_mailbox_key(message.cc),
        display_from=_display_key(message.from_),
        display_to=_display_key(message.to),
    )


def parse_headers_text(headers: str) -> tuple[tuple[str, str], ...]:
    """The (name, value) pairs of a stored ``headers`` text."""
    pairs = []
    for line in headers.split("\n")[1:]:
        name, _, value = line.partition(": ")
        pairs.append((name, value))
    return tuple(pairs)


def facts_from(
    *,
    email: int,
    thread: int,
    received_at: float,
    sent_at: float | None,
    size: int,
    modseq: int,
    has_attachment: bool,
    keywords: frozenset[str],
    mailboxes: dict[int, int],
    text: EmailText,
    thread_keywords: tuple[frozenset[str], ...] = (),
) -> EmailFacts:
    """:class:`EmailFacts` for the reference evaluation from stored values."""
    return EmailFacts(
        id=email,
        thread=thread,
        received_at=received_at,
        sent_at=sent_at,
        size=size,
        modseq=modseq,
        has_attachment=has_attachment,
        keywords=keywords,
        mailboxes=mailboxes,
        texts=text.texts(),
        headers=parse_headers_text(text.headers),
        thread_keywords=thread_keywords,
    )
