"""Bodies served from offsets: transfer-decoded bytes, text, and the message preview.

Implementation notes:

- :func:`decode_body` slices ``raw`` once and undoes the Content-Transfer-Encoding
  (RFC 2045 §6); :func:`decode_text` then applies the charset (RFC 2046 §4.1.2,
  :mod:`kernel.mail.charsets` for aliases and fallbacks). Neither raises.
- :func:`preview` (IMAP PREVIEW, RFC 8970 §2; JMAP ``preview``, RFC 8621 §4.1.4) reads the
  body the reader would see first: in a ``multipart/alternative`` the ``text/plain``
  alternative, else the HTML one; in other multiparts the first part that has text;
  attachments and encapsulated messages are skipped. HTML loses ``<script>``/``<style>``
  content, comments and tags, and its entities are unescaped. White space is collapsed.
  Only a prefix of the body is decoded, so a preview of a huge part stays cheap.
"""

from __future__ import annotations

import html
import re

from kernel.mail.charsets import decode_bytes
from kernel.mail.model import Message, Part
from kernel.mail.transfer import decode_transfer

__all__ = ["decode_body", "decode_text", "html_to_text", "preview"]

PREVIEW_LENGTH = 256
# Raw bytes read for a preview: plenty for 256 characters of text, or of HTML text after
# markup is removed, without decoding a whole large part.
_TEXT_PREFIX = 16 * 1024
_HTML_PREFIX = 256 * 1024

_HTML_HIDDEN = re.compile(
    r"<(script|style|head|title)\b.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)", re.I | re.S
)
_HTML_BLOCK = re.compile(r"<(?:br|p|div|tr|li|h[1-6]|blockquote)\b[^>]*>", re.I)
_HTML_TAG = re.compile(r"<[^>]*(?:>|\Z)")


def decode_body(raw: bytes, part: Part, limit: int | None = None) -> bytes:
    """The body of ``part`` with its Content-Transfer-Encoding undone.

    Args:
        raw: the whole message.
        part: a part parsed from ``raw``.
        limit: decode only about the first ``limit`` raw body bytes (for previews).
    """
    end = part.body_end if limit is None else min(part.body_end, part.header_end + limit)
    return decode_transfer(raw[part.header_end : end], part.transfer_encoding)


def decode_text(raw: bytes, part: Part, limit: int | None = None) -> str:
    """The body of ``part`` decoded to text with its charset (see :func:`decode_body`)."""
    return decode_bytes(decode_body(raw, part, limit), part.charset)


def _first_text(part: Part) -> Part | None:
    """The part holding the text a reader sees first, ``None`` when there is none."""
    if part.is_attachment:
        return None
    if part.content_type == "text" and part.subtype in ("plain", "html"):
        return part
    if part.content_type != "multipart":
        return None
    if part.subtype == "alternative":
        # RFC 2046 §5.1.4: alternatives are equivalent; prefer the plain one here.
        found = [text for text in map(_first_text, part.children) if text is not None]
        plain = [text for text in found if text.subtype == "plain"]
        return (plain or found or [None])[0]
    for child in part.children:
        text = _first_text(child)
        if text is not None:
            return text
    return None


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment, roughly: tags removed, entities unescaped."""
    markup = _HTML_HIDDEN.sub(" ", markup)
    markup = _HTML_BLOCK.sub(" ", markup)
    return html.unescape(_HTML_TAG.sub("", markup))


def preview(raw: bytes, message: Message, length: int = PREVIEW_LENGTH) -> str:
    """Up to ``length`` characters of the message's first text, white space collapsed."""
    part = _first_text(message.root)
    if part is None:
        return ""
    if part.subtype == "html":
        text = html_to_text(decode_text(raw, part, _HTML_PREFIX))
    else:
        text = decode_text(raw, part, _TEXT_PREFIX)
    # White space collapsed with str.split (the same characters as the regex \s, many
    # times faster), first over a prefix: its collapsed form is a prefix of the whole
    # text's, so it is enough once it holds ``length`` characters.
    head = text[: length * 4]
    collapsed = " ".join(head.split())
    if len(collapsed) < length and len(head) < len(text):
        collapsed = " ".join(text.split())
    return collapsed[:length].rstrip()
