"""The shared message parser: IMAP, JMAP, Sieve and SMTP read messages through it.

A message is parsed once, when it is stored: :func:`parse_message` gives a
:class:`Message` (header summary plus a MIME tree of :class:`Part` with byte offsets),
:func:`to_json` turns it into what the store keeps, and :func:`from_json` brings it back.
Sections (IMAP ``BODY[1.2.MIME]``, ``BINARY[...]``, partial fetches; JMAP
``bodyStructure``/``bodyValues``) are then served from the offsets into the raw bytes:
``raw[part.body_start:part.body_end]``, :func:`decode_body`, :func:`decode_text`.

Everything here is sans-IO and synchronous, never imports trio, and never raises on
message content.
"""

from kernel.mail.addresses import Address, Group, parse_address_list, parse_message_ids
from kernel.mail.body import decode_body, decode_text, html_to_text, preview
from kernel.mail.charsets import decode_bytes, lookup_charset
from kernel.mail.dates import parse_date
from kernel.mail.encoded_words import decode_words
from kernel.mail.headers import (
    Header,
    find_body_start,
    header_text,
    parse_header_block,
    unfold,
)
from kernel.mail.message import MAX_DEPTH, MAX_PARTS, parse_message
from kernel.mail.model import Message, Part, part_by_path, walk
from kernel.mail.params import parse_content_disposition, parse_content_type, parse_params
from kernel.mail.serialize import FORMAT_VERSION, from_json, to_json
from kernel.mail.transfer import decode_base64, decode_quoted_printable, decode_transfer

__all__ = [
    "FORMAT_VERSION",
    "MAX_DEPTH",
    "MAX_PARTS",
    "Address",
    "Group",
    "Header",
    "Message",
    "Part",
    "decode_base64",
    "decode_body",
    "decode_bytes",
    "decode_quoted_printable",
    "decode_text",
    "decode_transfer",
    "decode_words",
    "find_body_start",
    "from_json",
    "header_text",
    "html_to_text",
    "lookup_charset",
    "parse_address_list",
    "parse_content_disposition",
    "parse_content_type",
    "parse_date",
    "parse_header_block",
    "parse_message",
    "parse_message_ids",
    "parse_params",
    "part_by_path",
    "preview",
    "to_json",
    "unfold",
    "walk",
]
