"""Server responses to bytes: OK/NO/BYE with response codes, strings, capability lines.

RFC 5804 §4::

    response-ok    = "OK" [SP "(" resp-code ")"] [SP string] CRLF
    response-nobye = ("NO" / "BYE") [SP "(" resp-code ")"] [SP string] CRLF
    string         = quoted / literal-s2c
    literal-s2c    = "{" number "}" CRLF *OCTET

Implementation notes:

* A string goes out quoted when it can (at most 1024 octets, valid UTF-8, no
  NUL, CR or LF; ``"`` and ``\\`` escaped), else as a literal. Script
  contents (GETSCRIPT) always go as literals.
* Human-readable texts are UTF-8 in the ``i-default`` language (§1.7: no
  LANGUAGE capability unless configured).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, final

__all__ = [
    "Response",
    "capability_lines",
    "continuation",
    "encode_string",
    "literal",
    "string_line",
]

CRLF = b"\r\n"
#: RFC 5804 §4: a quoted string holds at most 1024 octets.
MAX_QUOTED = 1024


def _quotable(data: bytes) -> bool:
    if len(data) > MAX_QUOTED or b"\0" in data or b"\r" in data or b"\n" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def literal(data: bytes) -> bytes:
    """``{n}`` CRLF and the octets (literal-s2c)."""
    return b"{%d}\r\n" % len(data) + data


def encode_string(value: str | bytes) -> bytes:
    """A ManageSieve string: quoted when possible, else a literal."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if _quotable(data):
        return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return literal(data)


def string_line(value: str | bytes, suffix: bytes = b"") -> bytes:
    """One string on its own line (LISTSCRIPTS, a SASL challenge), with an optional suffix."""
    return encode_string(value) + suffix + CRLF


def continuation(text: str) -> bytes:
    """A continuation request for a ``{n}`` literal (the ACAP form RFC 5804 §1.2 refers to)."""
    return b"+ " + encode_string(text) + CRLF


@final
@dataclass(frozen=True, slots=True)
class Response:
    """A completion response.

    Attributes:
        status: ``OK``, ``NO`` or ``BYE``.
        code: the response code (``QUOTA/MAXSIZE``...), if any.
        code_arg: the code's string argument (TAG, SASL), if any.
        text: the human-readable text, if any.
    """

    status: Literal["OK", "NO", "BYE"]
    code: str | None = None
    code_arg: bytes | None = None
    text: str | None = None

    def with_text(self, text: str) -> Response:
        """The same status and code with another text."""
        return Response(self.status, self.code, self.code_arg, text)

    def to_bytes(self) -> bytes:
        out = bytearray(self.status.encode("ascii"))
        if self.code is not None:
            out += b" (" + self.code.encode("ascii")
            if self.code_arg is not None:
                out += b" " + encode_string(self.code_arg)
            out += b")"
        if self.text is not None:
            out += b" " + encode_string(self.text)
        return bytes(out + CRLF)


def capability_lines(capabilities: Iterable[tuple[str, str | None]]) -> bytes:
    """The capability listing (§1.7): one ``"NAME" ["value"]`` line each."""
    out = bytearray()
    for name, value in capabilities:
        out += encode_string(name)
        if value is not None:
            out += b" " + encode_string(value)
        out += CRLF
    return bytes(out)
