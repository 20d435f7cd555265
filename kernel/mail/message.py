"""Parse a raw message once into a :class:`~kernel.mail.model.Message`: the MIME tree with
byte offsets and the header summary.

Implementation notes:

- Never copies a body: boundaries are found with :meth:`bytes.find` on the raw bytes
  between offsets, and line counts with :meth:`bytes.count`; only header values are
  sliced. A 10 MB attachment costs a few C-speed scans, no Python loop over its lines.
- RFC 2046 §5.1.1: a delimiter is ``--boundary`` at the start of a line, followed by
  optional white space (transport padding) and the line break, or by ``--`` for the close
  delimiter. "The CRLF preceding the boundary delimiter line is conceptually attached to
  the boundary", so a part's body ends before it. Text after the boundary on the same
  line other than white space means it is not a delimiter (a longer boundary that starts
  with this one). Preamble and epilogue belong to no part.
- Leniency: a missing close delimiter lets the last part run to the end of its parent;
  a multipart without ``boundary``, or whose boundary never occurs, or that has only a
  close delimiter, is read as one ``text/plain`` leaf; ``message/rfc822`` and
  ``message/global`` are parsed as messages only when their body is not base64 or
  quoted-printable encoded (forbidden for rfc822 by RFC 2046 §5.2.1, allowed for global
  by RFC 6532 §3.5), otherwise they are leaves. Nothing here raises on any input.
- Limits: past :data:`MAX_DEPTH` nested containers, or once :data:`MAX_PARTS` parts exist,
  containers are no longer split: the part being split runs to its parent's end and
  further multiparts become ``text/plain`` leaves.
- Header fields: the first occurrence of a field counts (RFC 5322 §3.6 allows one).
- ``body_lines`` is counted for ``text/*`` and ``message/*`` parts only, the ones IMAP's
  BODYSTRUCTURE reports it for; it is 0 elsewhere, which spares a scan of every large
  attachment. A last line without a line break counts as a line.
"""

from __future__ import annotations

from kernel.mail.addresses import parse_address_list, parse_message_ids
from kernel.mail.dates import parse_date
from kernel.mail.encoded_words import decode_words
from kernel.mail.headers import Field, header_text, scan_fields
from kernel.mail.model import Message, Part
from kernel.mail.params import DEFAULT_TYPE, parse_content_disposition, parse_content_type
from kernel.mail.transfer import IDENTITY_ENCODINGS

__all__ = ["MAX_DEPTH", "MAX_PARTS", "parse_message"]

MAX_DEPTH = 64
MAX_PARTS = 10_000

_DIGEST_DEFAULT = ("message", "rfc822")
_ENCAPSULATING = frozenset({"rfc822", "global"})
_COUNTED = frozenset({"text", "message"})
_PART_FIELDS = frozenset(
    {
        b"content-type",
        b"content-transfer-encoding",
        b"content-disposition",
        b"content-id",
        b"content-description",
        b"content-language",
        b"content-location",
        b"content-md5",
    }
)
_SUMMARY_FIELDS = frozenset(
    {
        b"subject",
        b"from",
        b"sender",
        b"reply-to",
        b"to",
        b"cc",
        b"bcc",
        b"date",
        b"message-id",
        b"in-reply-to",
        b"references",
    }
)
_MESSAGE_FIELDS = _PART_FIELDS | _SUMMARY_FIELDS
_ADDRESS_FIELDS = {
    b"from": "from_",
    b"sender": "sender",
    b"reply-to": "reply_to",
    b"to": "to",
    b"cc": "cc",
    b"bcc": "bcc",
}


class _Budget:
    """Parts still allowed, shared by one parse."""

    __slots__ = ("depth", "parts")

    def __init__(self, parts: int, depth: int) -> None:
        self.parts = parts
        self.depth = depth


def parse_message(raw: bytes, *, max_depth: int = MAX_DEPTH, max_parts: int = MAX_PARTS) -> Message:
    """Parse ``raw`` into its MIME tree and header summary; never raises.

    Args:
        raw: the whole message as stored.
        max_depth: containers nested deeper than this are not split.
        max_parts: no container is split once this many parts exist.

    Returns:
        The :class:`Message`, whose offsets index ``raw``.
    """
    return _parse_message(raw, 0, len(raw), 0, _Budget(max_parts, max_depth))


def _collect(raw: bytes, fields: list[Field], wanted: frozenset[bytes]) -> dict[bytes, str]:
    """The text of the first occurrence of each wanted field, keyed by lowercased name."""
    found: dict[bytes, str] = {}
    for name, value_start, value_end, _, _ in fields:
        key = name.lower()
        if key in wanted and key not in found:
            found[key] = header_text(raw[value_start:value_end])
    return found


def _parse_message(raw: bytes, start: int, end: int, depth: int, budget: _Budget) -> Message:
    fields, body_start = scan_fields(raw, start, end)
    found = _collect(raw, fields, _MESSAGE_FIELDS)
    root = _build_part(raw, start, end, found, body_start, depth, budget, DEFAULT_TYPE)
    summary: dict[str, object] = {}
    for key, text in found.items():
        attribute = _ADDRESS_FIELDS.get(key)
        if attribute is not None:
            summary[attribute] = tuple(parse_address_list(text))
        elif key == b"subject":
            summary["subject"] = decode_words(text) if "=?" in text else text
        elif key == b"date":
            summary["date"] = parse_date(text)
        elif key == b"message-id":
            ids = parse_message_ids(text)
            summary["message_id"] = ids[0] if ids else None
        elif key == b"in-reply-to":
            summary["in_reply_to"] = tuple(parse_message_ids(text))
        elif key == b"references":
            summary["references"] = tuple(parse_message_ids(text))
    return Message(root, end - start, **summary)  # type: ignore[arg-type]


def _parse_part(
    raw: bytes, start: int, end: int, depth: int, budget: _Budget, default: tuple[str, str]
) -> Part:
    fields, body_start = scan_fields(raw, start, end)
    mime = _collect(raw, fields, _PART_FIELDS)
    return _build_part(raw, start, end, mime, body_start, depth, budget, default)


def _build_part(
    raw: bytes,
    start: int,
    end: int,
    mime: dict[bytes, str],
    body_start: int,
    depth: int,
    budget: _Budget,
    default: tuple[str, str],
) -> Part:
    budget.parts -= 1
    content_type, subtype, params = parse_content_type(mime.get(b"content-type"), default)
    encoding = mime.get(b"content-transfer-encoding", "7bit").lower() or "7bit"
    disposition, disposition_params = parse_content_disposition(mime.get(b"content-disposition"))
    language = mime.get(b"content-language")
    children: tuple[Part, ...] = ()
    message: Message | None = None
    can_descend = depth < budget.depth and budget.parts > 0
    if content_type == "multipart":
        boundary = params.get("boundary")
        if boundary and can_descend:
            children = _split(raw, body_start, end, boundary, depth + 1, budget, subtype)
        if not children:
            content_type, subtype = DEFAULT_TYPE
            params = {k: v for k, v in params.items() if k != "boundary"}
            params.setdefault("charset", "us-ascii")
    elif (
        content_type == "message"
        and subtype in _ENCAPSULATING
        and encoding in IDENTITY_ENCODINGS
        and can_descend
    ):
        message = _parse_message(raw, body_start, end, depth + 1, budget)
        children = (message.root,)
    lines = 0
    if content_type in _COUNTED:
        # RFC 9051 §7.5.2: body-fld-lines, only for text/* and message/rfc822 bodies.
        lines = raw.count(b"\n", body_start, end)
        if end > body_start and raw[end - 1] != 0x0A:
            lines += 1
    return Part(
        start,
        body_start,
        end,
        content_type,
        subtype,
        params,
        encoding,
        disposition,
        disposition_params,
        mime.get(b"content-id"),
        mime.get(b"content-description"),
        tuple(tag.strip() for tag in language.split(",") if tag.strip()) if language else (),
        mime.get(b"content-location"),
        mime.get(b"content-md5"),
        lines,
        children,
        message,
    )


def _delimiter_end(raw: bytes, after: int, end: int) -> tuple[int, bool] | None:
    """Where the line of a delimiter whose boundary ends at ``after`` ends, and whether
    it is the close delimiter; ``None`` when it is not a delimiter at all."""
    if raw.startswith(b"--", after, end):
        newline = raw.find(b"\n", after, end)
        return (end if newline < 0 else newline + 1), True
    # RFC 2046 §5.1.1: dash-boundary transport-padding CRLF; transport-padding := *LWSP-char
    pos = after
    while pos < end and raw[pos] in b" \t":
        pos += 1
    if pos == end:
        return end, False
    if raw[pos] == 0x0A:
        return pos + 1, False
    if raw[pos] == 0x0D and (pos + 1 == end or raw[pos + 1] == 0x0A):
        return min(pos + 2, end), False
    return None


def _split(
    raw: bytes,
    start: int,
    end: int,
    boundary: str,
    depth: int,
    budget: _Budget,
    subtype: str,
) -> tuple[Part, ...]:
    """The parts of the multipart body ``raw[start:end]``; ``()`` when none is found."""
    # RFC 2046 §5.1.1: dash-boundary := "--" boundary
    dash_boundary = b"--" + boundary.encode("utf-8", "surrogatepass")
    needle = b"\n" + dash_boundary
    # RFC 2046 §5.1.5: in a digest, the default Content-Type is message/rfc822.
    default = _DIGEST_DEFAULT if subtype == "digest" else DEFAULT_TYPE
    parts: list[Part] = []
    part_start = -1  # start of the part being delimited; -1 while in the preamble
    if raw.startswith(dash_boundary, start, end):
        found = start
    else:
        found = raw.find(needle, start, end)
        found = found + 1 if found >= 0 else -1
    while found >= 0:
        after = found + len(dash_boundary)
        delimiter = _delimiter_end(raw, after, end)
        if delimiter is not None:
            line_end, close = delimiter
            if part_start >= 0:
                body_end = found
                if body_end > part_start and raw[body_end - 1] == 0x0A:
                    body_end -= 1
                    if body_end > part_start and raw[body_end - 1] == 0x0D:
                        body_end -= 1
                parts.append(_parse_part(raw, part_start, body_end, depth, budget, default))
            if close:
                return tuple(parts)
            part_start = line_end
            if budget.parts <= 0:
                # Limits reached: the rest of the body is one last part.
                break
            after = line_end - 1
        found = raw.find(needle, after, end)
        found = found + 1 if found >= 0 else -1
    if part_start >= 0:
        parts.append(_parse_part(raw, part_start, end, depth, budget, default))
    return tuple(parts)
