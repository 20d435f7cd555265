"""FETCH data from a stored message: ENVELOPE, BODY/BODYSTRUCTURE, sections, BINARY.

Pure functions over ``(raw: bytes, message: kernel.mail.Message)`` that return the
serialised values of FETCH data items (RFC 9051 §6.4.5, §7.5.2; RFC 3516), plus
:func:`render_fetch`, which assembles one ``* n FETCH (...)`` response from them. No I/O,
no trio: the session loads the message and writes the pieces.
"""

from plugins.imap.fetch.bodystructure import body_structure
from plugins.imap.fetch.envelope import envelope
from plugins.imap.fetch.render import FetchSource, needs_content, render_fetch, sets_seen
from plugins.imap.fetch.sections import (
    SectionContent,
    UnknownCte,
    binary_section,
    binary_size,
    body_section,
    rfc822_section,
    section_bytes,
    section_label,
)
from plugins.imap.fetch.values import (
    email_id,
    internal_date,
    modseq,
    preview,
    rfc822_size,
    thread_id,
)

__all__ = [
    "FetchSource",
    "SectionContent",
    "UnknownCte",
    "binary_section",
    "binary_size",
    "body_section",
    "body_structure",
    "email_id",
    "envelope",
    "internal_date",
    "modseq",
    "needs_content",
    "preview",
    "render_fetch",
    "rfc822_section",
    "rfc822_size",
    "section_bytes",
    "section_label",
    "sets_seen",
    "thread_id",
]
