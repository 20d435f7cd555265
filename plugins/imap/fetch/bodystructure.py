"""FETCH BODY and BODYSTRUCTURE: the MIME tree as IMAP describes it (RFC 9051 §7.5.2).

    body            = "(" (body-type-1part / body-type-mpart) ")"
    body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
    body-type-basic = media-basic SP body-fields
    body-type-msg   = media-message SP body-fields SP envelope SP body SP body-fld-lines
    body-type-text  = media-text SP body-fields SP body-fld-lines
    body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP
                      body-fld-octets
    body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
    body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]

Implementation notes:

- BODY is the non-extensible form: no ``body-ext-*`` data (RFC 9051 §9: "MUST NOT be
  returned on non-extensible BODY fetch"). BODYSTRUCTURE always sends all four
  extension fields.
- Types, subtypes, parameter names, encodings and disposition types are upper-cased, as
  in the RFC's examples; parameter values are sent as the parser decoded them (RFC 2231
  continuations and charsets, RFC 9051 §7.5.2 "Servers SHOULD decode"), so a non-ASCII
  value is a literal for a client without UTF-8. A text part without a charset gets
  ``("CHARSET" "us-ascii")``, the RFC 2045 §5.2 default, spelt as the parser spells it
  when it supplies the default itself; a missing Content-Type is ``text/plain``
  already (:mod:`kernel.mail.params`), ``message/rfc822`` inside a ``multipart/digest``
  (RFC 2046 §5.1.5).
- body-fld-octets is the size as stored, transfer encoding included; body-fld-lines
  counts those lines (RFC 9051 §7.5.2).
- ``message/rfc822`` is sent as body-type-msg with the encapsulated envelope and body;
  so is ``message/global`` with ``rev2`` (RFC 9051 §9 ``media-message``), while
  IMAP4rev1 only knows ``MESSAGE/RFC822`` there (RFC 3501 §9) and gets a basic body.
  When the parser did not descend into the message (it is base64 or quoted-printable
  encoded, RFC 6532 §3.5 allows it for message/global, or the parser's limits were
  reached), its decoded body is parsed here as long as the part is less than
  :data:`MAX_RENDER_DEPTH` levels deep (every multipart and message level counts), and
  the new parse may only go as deep as what remains; deeper messages get an all-NIL
  envelope and an empty text body, which keeps the grammar. Recursion is thus bounded
  by the parser's depth limit plus :data:`MAX_RENDER_DEPTH`.
"""

from __future__ import annotations

from kernel.mail import Message, Part, decode_body, parse_message
from plugins.imap.fetch.envelope import EMPTY_ENVELOPE, envelope
from plugins.imap.proto.responses import nstring, plist, string

__all__ = ["MAX_RENDER_DEPTH", "body_structure"]

#: Nested messages deeper than this are described with placeholders.
MAX_RENDER_DEPTH = 64
# Parts allowed when an encoded encapsulated message is parsed here.
_REPARSE_PARTS = 1000
_EMPTY_BODY = b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0)'
_DEFAULT_CHARSET = ("charset", "us-ascii")


def _params(pairs: list[tuple[str, str]], utf8: bool) -> bytes:
    """body-fld-param: ``("NAME" "value" ...)`` or NIL."""
    if not pairs:
        return b"NIL"
    return plist(
        string(name.upper(), utf8=utf8) + b" " + string(value, utf8=utf8) for name, value in pairs
    )


def _type_params(part: Part, utf8: bool) -> bytes:
    pairs = list(part.params.items())
    if part.content_type == "text" and "charset" not in part.params:
        # RFC 2045 §5.2: the default is "Content-type: text/plain; charset=us-ascii".
        pairs.insert(0, _DEFAULT_CHARSET)
    return _params(pairs, utf8)


def _extension(part: Part, utf8: bool) -> list[bytes]:
    """body-fld-dsp SP body-fld-lang SP body-fld-loc, shared by both part kinds."""
    if part.disposition is None:
        disposition = b"NIL"
    else:
        # RFC 9051 §9: body-fld-dsp = "(" string SP body-fld-param ")" / nil
        disposition = plist(
            (
                string(part.disposition.upper(), utf8=utf8),
                _params(list(part.disposition_params.items()), utf8),
            )
        )
    # RFC 9051 §9: body-fld-lang = nstring / "(" string *(SP string) ")"
    if not part.language:
        language = b"NIL"
    elif len(part.language) == 1:
        language = string(part.language[0], utf8=utf8)
    else:
        language = plist(string(tag, utf8=utf8) for tag in part.language)
    return [disposition, language, nstring(part.location, utf8=utf8)]


def _encapsulated(raw: bytes, part: Part, depth: int) -> tuple[bytes, Message] | None:
    """The encapsulated message and the bytes its offsets index, or ``None``."""
    if part.message is not None:
        return raw, part.message
    if depth >= MAX_RENDER_DEPTH:
        return None
    inner = decode_body(raw, part)
    return inner, parse_message(inner, max_depth=MAX_RENDER_DEPTH - depth, max_parts=_REPARSE_PARTS)


def _body(raw: bytes, part: Part, extensible: bool, utf8: bool, rev2: bool, depth: int) -> bytes:
    if part.is_multipart:
        children = b"".join(
            _body(raw, child, extensible, utf8, rev2, depth + 1) for child in part.children
        )
        items = [children, string(part.subtype.upper(), utf8=utf8)]
        if extensible:
            items.append(_params(list(part.params.items()), utf8))
            items.extend(_extension(part, utf8))
        return plist(items)
    items = [
        string(part.content_type.upper(), utf8=utf8),
        string(part.subtype.upper(), utf8=utf8),
        _type_params(part, utf8),
        nstring(part.content_id, utf8=utf8),
        nstring(part.description, utf8=utf8),
        string(part.transfer_encoding.upper(), utf8=utf8),
        b"%d" % part.body_size,
    ]
    if part.content_type == "text":
        items.append(b"%d" % part.body_lines)
    elif part.content_type == "message" and (
        part.subtype == "rfc822" or (rev2 and part.subtype == "global")
    ):
        inner = _encapsulated(raw, part, depth + 1)
        if inner is None:
            items += (EMPTY_ENVELOPE, _EMPTY_BODY)
        else:
            inner_raw, message = inner
            items.append(envelope(inner_raw, message, utf8=utf8))
            items.append(_body(inner_raw, message.root, extensible, utf8, rev2, depth + 1))
        items.append(b"%d" % part.body_lines)
    if extensible:
        items.append(nstring(part.md5, utf8=utf8))
        items.extend(_extension(part, utf8))
    return plist(items)


def body_structure(
    raw: bytes, message: Message, *, extensible: bool, utf8: bool = False, rev2: bool = False
) -> bytes:
    """BODYSTRUCTURE (``extensible=True``) or BODY (``False``) of ``message``.

    Args:
        raw: the bytes the message's offsets index.
        message: the parsed message.
        extensible: add the extension data (BODYSTRUCTURE).
        utf8: UTF-8 may go in quoted strings (IMAP4rev2 or UTF8=ACCEPT).
        rev2: the client speaks IMAP4rev2, where message/global is encapsulating.

    Returns:
        The serialised ``body`` production.
    """
    return _body(raw, message.root, extensible, utf8, rev2, 0)
