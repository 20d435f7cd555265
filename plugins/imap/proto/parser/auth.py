"""AUTHENTICATE and LOGIN (RFC 9051 §6.2.2, §6.2.3; RFC 4959 SASL-IR).

    authenticate    = "AUTHENTICATE" SP auth-type [SP initial-resp]
                      *(CRLF base64)
    auth-type       = atom
    initial-resp    = (base64 / "=")
    base64          = *(4base64-char) [base64-terminal]
    login           = "LOGIN" SP userid SP password
    userid          = astring
    password        = astring

The ``*(CRLF base64)`` continuation lines are not part of the command: the driver asks
the receiver for them with ``expect_line()`` after each challenge.
"""

from __future__ import annotations

import binascii
import re
from typing import Final

from plugins.imap.proto.commands import Authenticate, Login
from plugins.imap.proto.parser.core import Reader

__all__ = ["decode_base64", "parse_authenticate", "parse_login"]

_BASE64: Final = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def decode_base64(data: bytes) -> bytes | None:
    """Strictly decode RFC 9051 ``base64``; ``None`` if it is not valid.

    The driver uses it for AUTHENTICATE continuation lines too (RFC 9051 §6.2.2: a
    client response that is not valid base64 gets a tagged BAD).
    """
    if _BASE64.fullmatch(data) is None:
        return None
    return binascii.a2b_base64(data)


def parse_authenticate(r: Reader, tag: str) -> Authenticate:
    """``AUTHENTICATE mechanism [initial-response]``; ``=`` is an empty response (RFC 4959 §3)."""
    r.sp()
    mechanism = r.keyword()
    initial: bytes | None = None
    if not r.at_end():
        r.sp()
        raw = bytes(r.data[r.pos :])
        if raw == b"=":
            initial = b""
        else:
            decoded = decode_base64(raw)
            if decoded is None or raw == b"":
                raise r.error("the initial response is not valid base64")
            initial = decoded
        r.pos = len(r.data)
    return Authenticate(tag, mechanism, initial)


def parse_login(r: Reader, tag: str) -> Login:
    """``LOGIN userid password``: both astrings, decoded as UTF-8."""
    r.sp()
    username = r.astring_text()
    r.sp()
    password = r.astring_text()
    r.end()
    return Login(tag, username, password)
