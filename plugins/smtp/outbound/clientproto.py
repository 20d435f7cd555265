"""The SMTP client's sans-IO core: reply parsing, EHLO capabilities, command lines.

No sockets, clocks or trio here (STYLE.md §1.4): :mod:`plugins.smtp.outbound.client`
moves the bytes.

RFC 5321 §4.2::

    Reply-line = *( Reply-code "-" [ textstring ] CRLF )
                 Reply-code [ SP textstring ] CRLF

Implementation notes:

* A reply line may be up to 512 octets (RFC 5321 §4.5.3.1.5); servers exceed
  it, so :class:`ReplyReader` allows :data:`MAX_LINE` and at most
  :data:`MAX_LINES` continuation lines before calling the reply hostile.
* A line whose code differs from the first line's, or that is not
  ``ddd[ -]``, is a protocol error (the client then gives up on the host).
* The enhanced status code (RFC 2034, RFC 3463) is read from the first line's
  text when the server advertised ENHANCEDSTATUSCODES.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import final

__all__ = [
    "MAX_LINE",
    "MAX_LINES",
    "Capabilities",
    "ClientReply",
    "ReplyError",
    "ReplyReader",
    "auth_plain",
    "dot_stuff",
    "mail_command",
    "needs_8bit",
    "rcpt_command",
    "xtext",
]

MAX_LINE = 4096
MAX_LINES = 256
_LINE = re.compile(rb"^([2-5][0-9][0-9])([ -])(.*)$", re.DOTALL)
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?:\s|$)")


class ReplyError(Exception):
    """The server's bytes are not a well-formed reply."""


@final
@dataclass(frozen=True, slots=True)
class ClientReply:
    """A reply received from a server."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 status at the start of the text, if any (class must match)."""
        match = _ENHANCED.match(self.lines[0]) if self.lines else None
        if match is None or match.group(1) != str(self.code)[0]:
            return None
        return ".".join(match.groups())

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 400

    @property
    def transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    def status(self) -> str:
        """The enhanced status, or the class default (RFC 3463 §3: X.0.0)."""
        return self.enhanced or f"{str(self.code)[0]}.0.0"

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


@final
class ReplyReader:
    """Turns received bytes into :class:`ClientReply` objects, in order."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lines: list[str] = []
        self._code: int | None = None

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_reply(self) -> ClientReply | None:
        """The next complete reply, or None until more bytes arrive.

        Raises:
            ReplyError: malformed, over-long or endless replies.
        """
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_LINE:
                    raise ReplyError("reply line too long")
                return None
            raw = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[: end + 1]
            if len(raw) > MAX_LINE:
                raise ReplyError("reply line too long")
            match = _LINE.match(raw) or (_LINE.match(raw + b" ") if len(raw) == 3 else None)
            if match is None:
                raise ReplyError(f"malformed reply line {raw[:60]!r}")
            code = int(match.group(1))
            if self._code is not None and code != self._code:
                raise ReplyError("reply code changed inside a multi-line reply")
            self._code = code
            self._lines.append(match.group(3).decode("utf-8", "replace"))
            if len(self._lines) > MAX_LINES:
                raise ReplyError("too many reply lines")
            if match.group(2) == b" ":
                reply = ClientReply(code, tuple(self._lines))
                self._lines, self._code = [], None
                return reply


@final
@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a server's EHLO reply offered (RFC 5321 §4.1.1.1), keywords upper-cased."""

    keywords: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_ehlo(cls, reply: ClientReply) -> Capabilities:
        keywords = {}
        for line in reply.lines[1:]:
            keyword, _, params = line.strip().partition(" ")
            if keyword:
                keywords[keyword.upper()] = params.strip()
        return cls(keywords)

    def __contains__(self, keyword: str) -> bool:
        return keyword in self.keywords

    @property
    def size_limit(self) -> int | None:
        """RFC 1870 §4: SIZE with a limit (0 or none: no fixed limit)."""
        value = self.keywords.get("SIZE")
        return int(value) if value and value.isdigit() and int(value) > 0 else None

    @property
    def auth_mechanisms(self) -> frozenset[str]:
        return frozenset(self.keywords.get("AUTH", "").upper().split())


def xtext(value: str) -> str:
    """RFC 3461 §4: xtext encoding ("+" and "=" and non-printables as +XX)."""
    out = []
    for byte in value.encode("utf-8"):
        if 33 <= byte <= 126 and byte not in (0x2B, 0x3D):
            out.append(chr(byte))
        else:
            out.append(f"+{byte:02X}")
    return "".join(out)


def needs_8bit(raw: bytes) -> bool:
    """Whether the message has octets over 127 (then BODY=8BITMIME is needed)."""
    return any(b > 127 for b in raw)


def mail_command(
    return_path: str,
    caps: Capabilities,
    *,
    size: int | None = None,
    body: str | None = None,
    smtputf8: bool = False,
    ret: str | None = None,
    envid: str | None = None,
) -> bytes:
    """``MAIL FROM:<...>`` with the parameters the server offered."""
    params = []
    if size is not None and "SIZE" in caps:
        params.append(f"SIZE={size}")  # RFC 1870 §6
    if body in ("8BITMIME", "BINARYMIME") and "8BITMIME" in caps:
        # RFC 6152 §2. deviation(RFC 3030 §3): BINARYMIME needs BDAT, which this
        # client does not send: such a body goes as 8BITMIME over DATA.
        params.append("BODY=8BITMIME")
    if smtputf8 and "SMTPUTF8" in caps:
        params.append("SMTPUTF8")  # RFC 6531 §3.4
    if "DSN" in caps:
        if ret:
            params.append(f"RET={ret}")  # RFC 3461 §4.3
        if envid:
            params.append(f"ENVID={xtext(envid)}")  # RFC 3461 §4.4
    line = f"MAIL FROM:<{return_path}>" + "".join(" " + p for p in params)
    return line.encode("utf-8") + b"\r\n"


def rcpt_command(
    address: str, caps: Capabilities, *, notify: str | None = None, orcpt: str | None = None
) -> bytes:
    """``RCPT TO:<...>``, with NOTIFY/ORCPT only when the server offered DSN."""
    params = []
    if "DSN" in caps:
        if notify:
            params.append(f"NOTIFY={notify}")  # RFC 3461 §4.1
        if orcpt:
            kind, _, addr = orcpt.partition(";")
            params.append(f"ORCPT={kind};{xtext(addr)}")  # RFC 3461 §4.2
    line = f"RCPT TO:<{address}>" + "".join(" " + p for p in params)
    return line.encode("utf-8") + b"\r\n"


def dot_stuff(raw: bytes) -> bytes:
    """The DATA payload: CRLF line ends, leading dots doubled, ``.`` line appended.

    RFC 5321 §4.5.2: a line starting with "." gets another "."; bare LF and
    bare CR become CRLF so the terminator can never appear by accident.
    """
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    stuffed = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)
    return stuffed + (b"\r\n" if lines else b"") + b".\r\n"


def auth_plain(username: str, password: str) -> bytes:
    """``AUTH PLAIN`` with the initial response (RFC 4616, RFC 4954 §4)."""
    token = base64.b64encode(b"\0" + username.encode() + b"\0" + password.encode())
    return b"AUTH PLAIN " + token + b"\r\n"
