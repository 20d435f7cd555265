"""FETCH section contents: BODY[section]<partial>, BINARY[part]<partial>, BINARY.SIZE.

    section-spec = section-msgtext / (section-part ["." section-text])
    section-text = section-msgtext / "MIME"
    partial      = "<" number64 "." nz-number64 ">"

Implementation notes:

- Everything is served from the offsets the parser stored; BODY contents are
  ``memoryview`` slices of the raw message, never copies, so the driver can stream a
  large part as it is (:class:`plugins.imap.proto.responses.FetchResponse`).
- Part numbers follow RFC 9051 §6.4.5.1 through :func:`kernel.mail.part_by_path`: a
  non-multipart message has a part 1 (its body), and the numbers of a message/rfc822
  part continue into the encapsulated message.
- ``HEADER``, ``HEADER.FIELDS[.NOT]`` and ``TEXT`` apply to the message (empty part
  path) or to an encapsulated message: on any other part they designate nothing.
  ``MIME`` is the part's own header block; for part 1 of a non-multipart message that
  is the message header, the only header the part has. An encapsulated message the
  parser did not descend into (base64 or quoted-printable encoded) has no HEADER, TEXT
  or sub-parts here.
- RFC 9051 §6.4.5.1: header subsets keep the delimiting blank line, "except in the
  case of a message that has no body and no blank line"; field names match
  case-insensitively (ASCII range) and otherwise exactly. The blank line is the one the
  message has (CRLF or a bare LF), so the result is a substring-by-lines of the stored
  header.
- A section naming a part that does not exist is NIL: RFC 9051 §4.5 gives
  ``* FETCH 1 (BODY[1] NIL)`` as the way to say that "indicates absence of the body
  part". (The empty string is what a partial fetch starting past the end gets, RFC 9051
  §6.4.5.)
- deviation(RFC 9051 §4.3.1): BODY[...] content holding NUL is sent as stored, in a
  plain literal; rewriting it would contradict RFC822.SIZE, BODYSTRUCTURE sizes and
  earlier partial fetches. Clients that care use BINARY, which gets ``literal8``.
- RFC 9051 §6.4.5: a partial ``<origin.length>`` is cut after subsetting; an origin past
  the end gives the empty string, and the response label carries only ``<origin>``.
- BINARY (RFC 3516 §4.2, RFC 9051 §6.4.5): the content of a leaf part with its transfer
  encoding undone; 7bit, 8bit and binary are identities. Any other encoding is
  :class:`UnknownCte`, which the session answers with ``NO [UNKNOWN-CTE]`` (RFC 9051
  §7.5.2 "MUST fail the request"). Text parts go out with CRLF line ends whatever the
  storage (RFC 3516 §6, RFC 9051 §7.5.2 "MUST ensure"), and BINARY.SIZE counts exactly
  what BINARY sends. A ``literal8`` is asked for only when the content holds NUL (RFC
  9051 §7.5.2: otherwise the server "SHOULD return the data in a <string>").
- BINARY on a multipart or an encapsulated message (RFC 9051 §6.4.5: "can only be
  requested for leaf body parts"), and BINARY[] of the whole message, send the stored
  bytes undecoded: their content transfer encoding can only be an identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, final

from kernel.mail import (
    Message,
    Part,
    decode_base64,
    decode_quoted_printable,
    parse_header_block,
    part_by_path,
)
from plugins.imap.proto.fetch_items import BinarySection, BinarySize, BodySection, Section
from plugins.imap.proto.responses import astring

__all__ = [
    "SectionContent",
    "UnknownCte",
    "binary_section",
    "binary_size",
    "body_section",
    "rfc822_section",
    "section_bytes",
    "section_label",
]

Content = bytes | memoryview
_IDENTITY = frozenset({"7bit", "8bit", "binary"})
_BARE_LF = re.compile(rb"(?<!\r)\n")
_NUL = re.compile(rb"\x00")


@final
@dataclass(frozen=True, slots=True)
class SectionContent:
    """One section item of a FETCH response.

    Attributes:
        label: the item as the response names it (``BODY[1.2]<0>``, ``RFC822.TEXT``).
        data: the content; ``None`` for NIL (the part does not exist).
        binary: send it as a ``literal8`` (BINARY content holding NUL).
    """

    label: bytes
    data: Content | None
    binary: bool = False


@final
@dataclass(frozen=True, slots=True)
class UnknownCte:
    """BINARY of a part whose Content-Transfer-Encoding cannot be decoded.

    RFC 3516 §4.3, RFC 9051 §7.5.2: the session fails the FETCH with ``NO
    [UNKNOWN-CTE]``.
    """

    encoding: str


def _message_of(message: Message, path: tuple[int, ...]) -> Message | None:
    """The message whose header HEADER/TEXT of ``path`` designate, if there is one."""
    if not path:
        return message
    part = part_by_path(message, path)
    return None if part is None else part.message


def _header_fields(
    raw: memoryview, raw_bytes: bytes, root: Part, fields: tuple[str, ...], keep: bool
) -> bytes:
    """The header fields of ``root`` whose names are (``keep``) or are not in ``fields``."""
    wanted = {name.upper() for name in fields}
    headers = parse_header_block(raw_bytes, root.header_start, root.header_end)
    chosen = [raw[h.start : h.end] for h in headers if (h.name.upper() in wanted) == keep]
    # RFC 9051 §6.4.5.1: "the blank line is included in all header fetches".
    last = headers[-1].end if headers else root.header_start
    return b"".join((*chosen, raw[last : root.header_end]))


def section_bytes(raw: bytes, message: Message, section: Section) -> Content | None:
    """The content of ``section`` before any partial, ``None`` when it does not exist."""
    view = memoryview(raw)
    specifier = section.specifier
    if specifier in ("", "MIME"):
        if not section.part:
            return view[message.start : message.root.body_end]
        part = part_by_path(message, section.part)
        if part is None:
            return None
        if specifier == "MIME":
            return view[part.header_start : part.header_end]
        return view[part.body_start : part.body_end]
    target = _message_of(message, section.part)
    if target is None:
        return None
    root = target.root
    if specifier == "HEADER":
        return view[root.header_start : root.header_end]
    if specifier == "TEXT":
        return view[root.body_start : root.body_end]
    return _header_fields(view, raw, root, section.fields, specifier == "HEADER.FIELDS")


def _partial(data: Content, partial: tuple[int, int] | None) -> Content:
    if partial is None:
        return data
    origin, length = partial
    # RFC 9051 §6.4.5: "If the starting octet is beyond the end of the text, an empty
    # string is returned"; a read beyond the end "is truncated as appropriate".
    return data[origin : origin + length]


def _spec(section: Section) -> bytes:
    """section-spec as the response repeats it."""
    spec = ".".join(map(str, section.part)).encode("ascii")
    if section.specifier:
        specifier = section.specifier.encode("ascii")
        spec = spec + b"." + specifier if spec else specifier
    if section.specifier.startswith("HEADER.FIELDS"):
        spec += b" (" + b" ".join(astring(name) for name in section.fields) + b")"
    return spec


def section_label(
    kind: Literal["BODY", "BINARY", "BINARY.SIZE"], section: Section, origin: int | None = None
) -> bytes:
    """``BODY[1.HEADER.FIELDS (FROM)]<0>``: the item's name in the response.

    RFC 9051 §7.5.2: the label never says PEEK, and of a partial only the origin is
    repeated (``BODY[]<0>``).
    """
    label = kind.encode("ascii") + b"[" + _spec(section) + b"]"
    return label if origin is None else label + b"<%d>" % origin


def body_section(raw: bytes, message: Message, item: BodySection) -> SectionContent:
    """The value of ``BODY[section]<partial>`` or ``BODY.PEEK[...]``."""
    origin = None if item.partial is None else item.partial[0]
    label = section_label("BODY", item.section, origin)
    data = section_bytes(raw, message, item.section)
    # deviation(RFC 9051 §4.3.1): sent as stored, NUL included (see the module notes).
    return SectionContent(label, None if data is None else _partial(data, item.partial))


_RFC822_SECTIONS = {
    "RFC822": Section(),
    "RFC822.HEADER": Section(specifier="HEADER"),
    "RFC822.TEXT": Section(specifier="TEXT"),
}


def rfc822_section(
    raw: bytes, message: Message, name: Literal["RFC822", "RFC822.HEADER", "RFC822.TEXT"]
) -> SectionContent:
    """IMAP4rev1's RFC822, RFC822.HEADER and RFC822.TEXT (RFC 3501 §6.4.5)."""
    return SectionContent(name.encode("ascii"), section_bytes(raw, message, _RFC822_SECTIONS[name]))


def _decoded(raw: bytes, message: Message, path: tuple[int, ...]) -> Content | UnknownCte | None:
    """The content BINARY sends for ``path`` before any partial."""
    if not path:
        return memoryview(raw)[message.start : message.root.body_end]
    part = part_by_path(message, path)
    if part is None:
        return None
    start, end = part.body_start, part.body_end
    encoding = part.transfer_encoding
    text = part.content_type == "text" and not part.children
    if part.children or encoding in _IDENTITY:
        if not text or raw.count(b"\n", start, end) == raw.count(b"\r\n", start, end):
            return memoryview(raw)[start:end]
        data = raw[start:end]
    elif encoding == "base64":
        data = decode_base64(raw[start:end])
    elif encoding == "quoted-printable":
        data = decode_quoted_printable(raw[start:end])
    else:
        return UnknownCte(encoding)
    if text and data.count(b"\n") != data.count(b"\r\n"):
        # RFC 3516 §6: "textual line-oriented sections are always transmitted using the
        # IMAP4 CRLF line termination syntax".
        data = _BARE_LF.sub(b"\r\n", data)
    return data


def binary_section(
    raw: bytes, message: Message, item: BinarySection
) -> SectionContent | UnknownCte:
    """The value of ``BINARY[part]<partial>`` or ``BINARY.PEEK[...]``."""
    data = _decoded(raw, message, item.part)
    if isinstance(data, UnknownCte):
        return data
    origin = None if item.partial is None else item.partial[0]
    label = section_label("BINARY", Section(item.part), origin)
    if data is None:
        return SectionContent(label, None)
    data = _partial(data, item.partial)
    return SectionContent(label, data, binary=_NUL.search(data) is not None)


def binary_size(raw: bytes, message: Message, item: BinarySize) -> tuple[bytes, int] | UnknownCte:
    """``(label, size)`` of ``BINARY.SIZE[part]``: the length BINARY would send.

    A part that does not exist has size 0, the length of the NIL that BINARY sends.
    """
    data = _decoded(raw, message, item.part)
    if isinstance(data, UnknownCte):
        return data
    return section_label("BINARY.SIZE", Section(item.part)), 0 if data is None else len(data)
