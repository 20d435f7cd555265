"""Content-Type and Content-Disposition values: type, subtype and parameters.

Implementation notes:

- RFC 2045 §5.1 grammar, read leniently: parameters may be separated by white space
  instead of ``;``; an unquoted value runs to the next ``;`` (so ``name=my file.pdf``
  keeps its spaces); an unterminated quoted string runs to the end; junk between
  parameters is skipped; a parameter without ``=`` is dropped; the first of duplicate
  parameters wins. Attribute names are lowercased, values keep their case.
- RFC 2231 continuations (``name*0*=``, ``name*1=``) are joined in section order, and
  the ``charset'language'`` prefix and ``%XX`` escapes decoded; an RFC 2231 value wins
  over a plain one of the same name (RFC 2231 §4.1).
- RFC 2047 encoded-words inside ``name`` and ``filename`` are decoded, as mail readers
  do although RFC 2047 §5 forbids them there; other parameters (``boundary`` may contain
  ``=?``) are left alone.
- A missing or unparseable Content-Type yields ``text/plain; charset=us-ascii``
  (RFC 2045 §5.2), or the caller's default (``message/rfc822`` inside a
  ``multipart/digest``, RFC 2046 §5.1.5).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from kernel.mail.charsets import decode_bytes
from kernel.mail.encoded_words import decode_words

__all__ = ["parse_content_disposition", "parse_content_type", "parse_params"]

# RFC 2045 §5.1:
#   content := "Content-Type" ":" type "/" subtype *(";" parameter)
#   parameter := attribute "=" value
#   value := token / quoted-string
#   token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
_TOKEN = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"
_TYPE = re.compile(rf"\s*({_TOKEN})\s*/\s*({_TOKEN})")
_DISPOSITION = re.compile(rf"\s*({_TOKEN})")
_PARAM = re.compile(
    r"""[;\s]\s*
    ([^\s=;"]+)\s*
    (?:=\s*(?:"((?:[^"\\]|\\.)*)(?:"|\Z)|([^;]*)))?""",
    re.X | re.S,
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)
_TRAILING_COMMENT = re.compile(r"\s+\([^()]*\)\s*\Z")
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)", re.S)
_WORD_PARAMS = frozenset({"name", "filename"})
_SEPARATORS = "; \t\r\n"
# Values up to this length are cached (long ones are rare and would pin memory).
_CACHED_LENGTH = 256

DEFAULT_TYPE = ("text", "plain")


def _sections(raw_params: list[tuple[str, str, bool]]) -> dict[str, str]:
    """Merge plain and RFC 2231 parameters, in order of first appearance."""
    plain: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[bool, str]]] = {}
    order: dict[str, None] = {}
    for attribute, value, quoted in raw_params:
        base, star, rest = attribute.partition("*")
        if star and base:
            # RFC 2231 §3 and §4: name*=  name*0=  name*0*=  name*1*=
            encoded = rest.endswith("*") or rest == ""
            number = rest.rstrip("*")
            if number.isdigit() or number == "":
                index = int(number) if number else 0
                # Quoted extended values are invalid (RFC 2231 §7) but common: decode them too.
                extended.setdefault(base, {}).setdefault(index, (encoded, value))
                order.setdefault(base)
                continue
        if attribute not in plain:
            if quoted and "\\" in value:
                value = _QUOTED_PAIR.sub(r"\1", value)
            if attribute in _WORD_PARAMS and "=?" in value:
                value = decode_words(value)
            plain[attribute] = value
        order.setdefault(attribute)
    if not extended:
        return plain
    result: dict[str, str] = {}
    for name in order:
        sections = extended.get(name)
        if sections is None:
            result[name] = plain[name]
            continue
        charset: str | None = None
        chunks: list[bytes] = []
        first = min(sections)
        for index in sorted(sections):
            encoded, value = sections[index]
            if encoded:
                if index == first:
                    # RFC 2231 §4: charset'language'value on the first section only.
                    parts = value.split("'", 2)
                    if len(parts) == 3:
                        charset = parts[0] or None
                        value = parts[2]
                chunks.append(unquote_to_bytes(value))
            else:
                chunks.append(value.encode("utf-8", "surrogatepass"))
        result[name] = decode_bytes(b"".join(chunks), charset)
    return result


def parse_params(value: str, pos: int = 0) -> dict[str, str]:
    """The ``attribute=value`` parameters in ``value`` from ``pos`` on (names lowercased)."""
    raw_params: list[tuple[str, str, bool]] = []
    for match in _PARAM.finditer(value, pos):
        attribute, quoted, token = match.groups()
        if quoted is None and token is None:
            continue
        if quoted is not None:
            raw_params.append((attribute.lower(), quoted, True))
        else:
            token = token.strip()
            if token.endswith(")"):
                token = _TRAILING_COMMENT.sub("", token)
            raw_params.append((attribute.lower(), token, False))
    return _sections(raw_params)


def parse_content_type(
    value: str | None, default: tuple[str, str] = DEFAULT_TYPE
) -> tuple[str, str, dict[str, str]]:
    """Parse a Content-Type value into ``(type, subtype, params)``.

    Args:
        value: the field value as text (unfolded), or ``None`` when the field is absent.
        default: the type to assume when ``value`` is absent or has no valid type.

    Returns:
        Lowercased type and subtype, and the parameters (a new dict). The default
        ``text/plain`` comes with ``charset=us-ascii`` unless the value carried a charset.
    """
    if value is not None and len(value) > _CACHED_LENGTH:
        return _parse_content_type(value, default)
    content_type, subtype, params = _content_type(value, default)
    return content_type, subtype, dict(params)


@lru_cache(maxsize=1024)
def _content_type(
    value: str | None, default: tuple[str, str]
) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    # Cached: a mailbox repeats the same few dozen Content-Type values endlessly.
    content_type, subtype, params = _parse_content_type(value, default)
    return content_type, subtype, tuple(params.items())


def _parse_content_type(
    value: str | None, default: tuple[str, str]
) -> tuple[str, str, dict[str, str]]:
    if value is not None:
        head = value.split(";", 1)[0]
        if "(" in head:
            value = _COMMENT.sub(" ", head) + value[len(head) :]
        match = _TYPE.match(value)
        if match is not None:
            end = match.end()
            if end == len(value):
                return match.group(1).lower(), match.group(2).lower(), {}
            if value[end] in _SEPARATORS:
                params = parse_params(value, end)
                return match.group(1).lower(), match.group(2).lower(), params
        semicolon = value.find(";")
        params = parse_params(value, semicolon) if semicolon >= 0 else {}
    else:
        params = {}
    # RFC 2045 §5.2: "Content-type: text/plain; charset=us-ascii" is the default, also
    # "when a syntactically invalid Content-Type header field is encountered".
    if default == DEFAULT_TYPE:
        params.setdefault("charset", "us-ascii")
    return default[0], default[1], params


def parse_content_disposition(value: str | None) -> tuple[str | None, dict[str, str]]:
    """Parse a Content-Disposition value (RFC 2183 §2) into ``(type, params)``.

    The type is lowercased, ``None`` when the field is absent or has no type; the
    parameters are a new dict.
    """
    if value is None:
        return None, {}
    if len(value) > _CACHED_LENGTH:
        return _parse_content_disposition(value)
    disposition, params = _content_disposition(value)
    return disposition, dict(params)


@lru_cache(maxsize=1024)
def _content_disposition(value: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    disposition, params = _parse_content_disposition(value)
    return disposition, tuple(params.items())


def _parse_content_disposition(value: str) -> tuple[str | None, dict[str, str]]:
    match = _DISPOSITION.match(value)
    if match is None or (match.end() < len(value) and value[match.end()] not in _SEPARATORS):
        # No type, or a parameter where the type should be: keep the parameters.
        return None, parse_params(";" + value)
    end = match.end()
    return match.group(1).lower(), parse_params(value, end) if end < len(value) else {}
