"""Charset names from MIME parameters and encoded-words, mapped to Python codecs.

Mail names charsets the IANA way (``iso-8859-1``, ``ks_c_5601-1987``, ``x-sjis``); Python's
:mod:`codecs` knows most of them, but several labels are better decoded with a superset, the
way browsers and mail readers do (the WHATWG Encoding Standard's label table), and a few
Python codecs are not text encodings at all (``base64``, ``rot13``, ``zlib``) and must never be
reachable from message content.

Implementation notes:

- :func:`lookup_charset` returns a codec name or ``None`` (unknown label); results are
  cached, since a mailbox holds the same dozen labels millions of times.
- Supersets: ``iso-8859-1`` is decoded as ``windows-1252``; ``us-ascii`` and no label as
  UTF-8, else ``windows-1252`` (8-bit bytes in a part labelled ASCII are nearly always UTF-8
  or Windows Latin-1); ``gb2312`` as ``gb18030``; ``ks_c_5601-1987``/``euc-kr`` as ``cp949``;
  ``shift_jis`` as ``cp932``; ``iso-2022-jp`` as ``iso2022_jp_2``; ``big5`` as
  ``big5hkscs``; ``tis-620``/``iso-8859-11`` as ``cp874``.
- :func:`decode_bytes` never raises: undecodable bytes become U+FFFD, and an unknown
  charset falls back to UTF-8 (then Windows-1252 if that fails strictly).
"""

from __future__ import annotations

import codecs
from functools import lru_cache

__all__ = ["decode_bytes", "lookup_charset"]

# Labels decoded with a superset codec (WHATWG Encoding Standard, "Legacy multi-byte
# Chinese (simplified) encodings" and friends), keyed by the normalised label.
_ALIASES = {
    "latin1": "cp1252",
    "iso_8859_1": "cp1252",
    "iso8859_1": "cp1252",
    "iso_8859_1_1987": "cp1252",
    "l1": "cp1252",
    "windows_1252": "cp1252",
    "x_cp1252": "cp1252",
    "iso_8859_9": "cp1254",
    "latin5": "cp1254",
    "iso_8859_11": "cp874",
    "tis_620": "cp874",
    "windows_874": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x_gbk": "gb18030",
    "euc_cn": "gb18030",
    "cp936": "gb18030",
    "ks_c_5601_1987": "cp949",
    "ks_c_5601_1989": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "euc_kr": "cp949",
    "windows_949": "cp949",
    "shift_jis": "cp932",
    "shift_jis_2004": "cp932",
    "sjis": "cp932",
    "x_sjis": "cp932",
    "ms_kanji": "cp932",
    "windows_31j": "cp932",
    "iso_2022_jp": "iso2022_jp_2",
    "csiso2022jp": "iso2022_jp_2",
    "big5": "big5hkscs",
    "x_x_big5": "big5hkscs",
    "cn_big5": "big5hkscs",
    "iso_8859_8_i": "iso8859_8",
    "iso_8859_6_i": "iso8859_6",
    "x_mac_roman": "mac_roman",
    "macintosh": "mac_roman",
    "unicode_1_1_utf_7": "utf_7",
    "x_unicode20utf8": "utf_8",
    "unicode_1_1_utf_8": "utf_8",
    "utf8": "utf_8",
}

# Labels that mean "no declared charset": decode as UTF-8 with a Windows-1252 fallback.
_ASCII_LABELS = frozenset(
    {"us_ascii", "ascii", "ansi_x3.4_1968", "ansi_x3_4_1968", "iso646_us", "us", "646"}
)
_UNKNOWN_LABELS = frozenset({"", "unknown", "unknown_8bit", "x_unknown", "default", "8bit"})
# Python text codecs that make no sense for mail content.
_REFUSED = frozenset({"idna", "punycode", "unicode_escape", "raw_unicode_escape", "mbcs", "oem"})

_ASCII = "ascii"


def _normalise(label: str) -> str:
    return label.strip().strip("\"'").lower().replace("-", "_").replace(" ", "_")


@lru_cache(maxsize=512)
def lookup_charset(label: str | None) -> str | None:
    """The Python codec that decodes text labelled ``label``.

    Args:
        label: a MIME charset name as written (case-insensitive; ``None`` for none).

    Returns:
        A codec name for :meth:`bytes.decode`; ``"ascii"`` for the US-ASCII labels and
        for no label (callers treat it as "UTF-8, else Windows-1252"); ``None`` when the
        label names no text encoding Python knows.
    """
    if label is None:
        return _ASCII
    key = _normalise(label)
    if key in _ASCII_LABELS or key in _UNKNOWN_LABELS:
        return _ASCII
    key = _ALIASES.get(key, key)
    try:
        info = codecs.lookup(key)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode ``data`` labelled ``charset`` to text, never raising.

    ASCII-labelled, unlabelled and unknown-charset data is tried as UTF-8 first and
    decoded as Windows-1252 when that fails; known charsets decode with U+FFFD for
    invalid sequences.
    """
    codec = lookup_charset(charset)
    if codec is None or codec == _ASCII or codec == "utf-8":
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            if codec == "utf-8":
                return data.decode("utf-8", "replace")
            return data.decode("cp1252", "replace")
    try:
        return data.decode(codec, "replace")
    except (LookupError, ValueError):  # pragma: no cover - codec misbehaving
        return data.decode("utf-8", "replace")
