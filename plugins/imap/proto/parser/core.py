"""The tokens of the IMAP command grammar (RFC 9051 §9; RFC 3501 §9), read from one command.

A :class:`Reader` walks the bytes of one complete command as the receiver assembled it:
lines end in CRLF only where a literal header ``{n}``/``{n+}``/``~{n}`` precedes the
literal's octets, exactly as on the wire, and the final CRLF is gone. The receiver has
already checked the framing and the limits; this module checks the grammar.

Implementation notes:

* Every error is a :class:`ParseError`; the receiver turns it into a tagged BAD (or NO
  when the error says so), never an exception that escapes.
* Keywords are matched case-insensitively (RFC 9051 §9, note 1) and only ASCII is ever
  upper-cased, so a dotless-i ``inbox`` lookalike is not INBOX.
* Numbers are bounded before ``int()`` sees them (no 4,300-digit conversions).
* 8-bit octets are refused in atoms always, and in quoted strings unless the reader was
  built with ``utf8=True`` (the session enables it with ``ENABLE UTF8=ACCEPT`` or
  ``IMAP4rev2``: RFC 6855 §3; RFC 9051 ``QUOTED-CHAR``); they must then be valid UTF-8.

    atom            = 1*ATOM-CHAR
    ATOM-CHAR       = <any CHAR except atom-specials>
    atom-specials   = "(" / ")" / "{" / SP / CTL / list-wildcards /
                      quoted-specials / resp-specials
    astring         = 1*ASTRING-CHAR / string
    ASTRING-CHAR    = ATOM-CHAR / resp-specials
    string          = quoted / literal
    quoted          = DQUOTE *QUOTED-CHAR DQUOTE
    QUOTED-CHAR     = <any TEXT-CHAR except quoted-specials> /
                      "\\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4
    literal         = "{" number64 ["+"] "}" CRLF *CHAR8
    literal8        = "~{" number64 "}" CRLF *OCTET
    nstring         = string / nil
    number          = 1*DIGIT           ; unsigned 32-bit
    number64        = 1*DIGIT           ; unsigned 63-bit
    nz-number       = digit-nz *DIGIT
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Final, TypeVar, final

from plugins.imap.proto.sequence import STAR, SequenceSet

__all__ = ["MAX_NUMBER", "MAX_NUMBER64", "ParseError", "Reader"]

T = TypeVar("T")

#: ``number``: unsigned 32-bit (RFC 9051 §9).
MAX_NUMBER: Final = 2**32 - 1
#: ``number64``: unsigned 63-bit (RFC 9051 §9).
MAX_NUMBER64: Final = 2**63 - 1

_ATOM = re.compile(rb'[^(){ %*"\\\]\x00-\x1f\x7f-\xff]+')
_ASTRING_ATOM = re.compile(rb'[^(){ %*"\\\x00-\x1f\x7f-\xff]+')
_LIST_ATOM = re.compile(rb'[^(){ "\\\x00-\x1f\x7f-\xff]+')
_DIGITS = re.compile(rb"[0-9]+")
_LITERAL = re.compile(rb"(~?)\{([0-9]+)(\+?)\}\r\n")
_QUOTED_PLAIN = re.compile(rb'[^"\\\r\n\x00]*')
_SEQUENCE = re.compile(rb"[0-9:*,$]+")
_MONTHS: Final = {
    m: i + 1
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}
# date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
_DATE_TIME = re.compile(
    rb'"([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4}) '
    rb'([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"'
)
# date-text = date-day "-" date-month "-" date-year
_DATE_TEXT = re.compile(rb"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")

#: RFC 9051 §2.3.2: the system flags, by upper-cased name; ``\Recent`` is IMAP4rev1's.
SYSTEM_FLAGS: Final = {
    f.upper(): f for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent")
}


@final
class ParseError(Exception):
    """A command that does not match the grammar.

    Attributes:
      text: human-readable reason (ASCII, no CR/LF), for the response text.
      status: ``BAD`` (syntax) or ``NO`` (well-formed but refused, e.g. BADCHARSET).
      code: the response code's text without brackets, or ``None``.
      tag: the command's tag once known (filled in by the dispatcher).
    """

    def __init__(self, text: str, *, status: str = "BAD", code: str | None = None) -> None:
        # The text goes on the wire: printable ASCII only, bounded (no CRLF injection).
        text = "".join(ch if " " <= ch <= "~" else "?" for ch in text[:200])
        super().__init__(text)
        self.text = text
        self.status = status
        self.code = code
        self.tag: str | None = None


@final
class Reader:
    """A cursor over one assembled command; every method consumes or raises ParseError.

    Args:
      data: the command bytes, without the final CRLF (a bytearray is not copied).
      utf8: accept UTF-8 in quoted strings (UTF8=ACCEPT / IMAP4rev2).
    """

    __slots__ = ("data", "pos", "utf8")

    def __init__(self, data: bytes | bytearray, *, utf8: bool = False) -> None:
        self.data = data
        self.pos = 0
        self.utf8 = utf8

    # ------------------------------------------------------------------ primitives

    def error(self, text: str) -> ParseError:
        """A ParseError for ``text``, noting the offset."""
        return ParseError(f"{text} (at octet {self.pos})")

    def at_end(self) -> bool:
        """Whether the whole command has been consumed."""
        return self.pos >= len(self.data)

    def peek(self) -> int:
        """The next octet, or -1 at the end."""
        return self.data[self.pos] if self.pos < len(self.data) else -1

    def peek_is(self, prefix: bytes) -> bool:
        """Whether the input continues with ``prefix`` (case-sensitive)."""
        return self.data.startswith(prefix, self.pos)

    def take(self, prefix: bytes) -> bool:
        """Consume ``prefix`` if the input continues with it."""
        if self.data.startswith(prefix, self.pos):
            self.pos += len(prefix)
            return True
        return False

    def expect(self, prefix: bytes) -> None:
        """Consume ``prefix`` or fail."""
        if not self.take(prefix):
            raise self.error(f"expected {prefix.decode('ascii')!r}")

    def sp(self) -> None:
        """Consume exactly one SP (RFC 9051 §9, note 2)."""
        self.expect(b" ")

    def end(self) -> None:
        """Fail unless the command is complete."""
        if not self.at_end():
            raise self.error("unexpected characters after the command")

    # ------------------------------------------------------------------- atoms

    def _match(self, pattern: re.Pattern[bytes], what: str) -> bytes:
        m = pattern.match(self.data, self.pos)
        if m is None:
            raise self.error(f"expected {what}")
        self.pos = m.end()
        return bytes(m.group())

    def atom(self) -> str:
        """``atom``."""
        return self._match(_ATOM, "an atom").decode("ascii")

    def keyword(self) -> str:
        """An atom, upper-cased (keywords are case-insensitive)."""
        return self.atom().upper()

    def peek_keyword(self) -> str:
        """The upper-cased atom at the cursor without consuming it, or ``""``."""
        m = _ATOM.match(self.data, self.pos)
        return m.group().decode("ascii").upper() if m else ""

    def take_keyword(self, word: str) -> bool:
        """Consume ``word`` (upper-case) if it is the whole next atom."""
        if self.peek_keyword() == word:
            self.pos += len(word)
            return True
        return False

    # ------------------------------------------------------------------ numbers

    def _digits(self, limit: int, what: str, nonzero: bool) -> int:
        m = _DIGITS.match(self.data, self.pos)
        if m is None:
            raise self.error(f"expected {what}")
        digits = m.group()
        if len(digits) > len(str(limit)) or int(digits) > limit:
            raise self.error(f"{what} out of range")
        if nonzero and (digits[0] == 0x30):
            raise self.error(f"{what} must be non-zero without leading zeros")
        self.pos = m.end()
        return int(digits)

    def number(self) -> int:
        """``number`` (0 ... 2^32-1)."""
        return self._digits(MAX_NUMBER, "a number", False)

    def nz_number(self) -> int:
        """``nz-number`` (1 ... 2^32-1)."""
        return self._digits(MAX_NUMBER, "a non-zero number", True)

    def number64(self) -> int:
        """``number64`` (0 ... 2^63-1)."""
        return self._digits(MAX_NUMBER64, "a number", False)

    def nz_number64(self) -> int:
        """``nz-number64`` / ``mod-sequence-value`` (1 ... 2^63-1)."""
        return self._digits(MAX_NUMBER64, "a non-zero number", True)

    # ------------------------------------------------------------------ strings

    def quoted(self) -> bytes:
        """``quoted``, unescaped."""
        self.expect(b'"')
        out = bytearray()
        while True:
            m = _QUOTED_PLAIN.match(self.data, self.pos)
            assert m is not None  # the pattern matches the empty string
            out += m.group()
            self.pos = m.end()
            c = self.peek()
            if c == 0x22:  # closing DQUOTE
                self.pos += 1
                break
            if c == 0x5C:  # "\" quoted-specials
                nxt = bytes(self.data[self.pos + 1 : self.pos + 2])
                if nxt not in (b'"', b"\\"):
                    raise self.error('only \\" and \\\\ may be escaped in a quoted string')
                out += nxt
                self.pos += 2
                continue
            raise self.error("unterminated quoted string")
        value = bytes(out)
        if not value.isascii():
            if not self.utf8:
                raise self.error("8-bit characters in a quoted string need UTF8=ACCEPT")
            self.text(value)
        return value

    def literal(self, *, binary: bool = False) -> tuple[bytes, bool]:
        """``literal`` (or ``literal8`` if ``binary``): ``(octets, was_literal8)``.

        A plain literal must not hold NUL (``CHAR8``, RFC 9051 §9 note 3).
        """
        m = _LITERAL.match(self.data, self.pos)
        if m is None:
            raise self.error("expected a literal")
        is8 = bool(m.group(1))
        if is8 and not binary:
            raise self.error("literal8 is not allowed here")
        digits = m.group(2)
        if len(digits) > 19 or int(digits) > MAX_NUMBER64:
            raise self.error("literal size out of range")
        start = m.end()
        stop = start + int(digits)
        if stop > len(self.data):
            raise self.error("truncated literal")
        with memoryview(self.data) as view:  # one copy of a large literal, not two
            value = bytes(view[start:stop])
        if not is8 and b"\x00" in value:
            raise self.error("NUL in a literal (use literal8)")
        self.pos = stop
        return value, is8

    def string(self) -> bytes:
        """``string``: quoted or literal."""
        if self.peek() == 0x22:
            return self.quoted()
        return self.literal()[0]

    def astring(self) -> bytes:
        """``astring``."""
        if self._at_string():
            return self.string()
        return self._match(_ASTRING_ATOM, "a string")

    def _at_string(self) -> bool:
        # '"', '{' or '~{' (a literal8 where only a literal is allowed fails in literal()).
        return self.peek() in (0x22, 0x7B) or self.peek_is(b"~{")

    def nstring(self) -> bytes | None:
        """``nstring``: a string or NIL."""
        if self.take_keyword("NIL"):
            return None
        return self.string()

    def text(self, value: bytes) -> str:
        """``value`` as text: UTF-8 (US-ASCII is a subset) or a ParseError."""
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("invalid UTF-8") from None

    def astring_text(self) -> str:
        """An astring decoded as UTF-8."""
        return self.text(self.astring())

    def mailbox(self) -> str:
        """``mailbox = "INBOX" / astring``: any case of INBOX is ``"INBOX"`` (RFC 9051 §5.1)."""
        name = self.astring_text()
        if name.isascii() and name.upper() == "INBOX":
            return "INBOX"
        return name

    def list_mailbox(self) -> str:
        """``list-mailbox = 1*list-char / string`` (a LIST pattern, kept as sent)."""
        if self._at_string():
            return self.text(self.string())
        return self._match(_LIST_ATOM, "a mailbox pattern").decode("ascii")

    # ------------------------------------------------------------------- lists

    def paren_list(self, item: Callable[[], T], *, empty: bool = False) -> list[T]:
        """``"(" item *(SP item) ")"``; ``"()"`` only if ``empty``."""
        self.expect(b"(")
        out: list[T] = []
        if self.take(b")"):
            if not empty:
                raise self.error("empty list")
            return out
        out.append(item())
        while not self.take(b")"):
            self.sp()
            out.append(item())
        return out

    def flag(self) -> str:
        r"""``flag``: a system flag (canonical spelling), ``\`` atom, or a keyword atom."""
        if self.take(b"\\"):
            name = "\\" + self.atom()
            return SYSTEM_FLAGS.get(name.upper(), name)
        return self.atom()

    def flag_list(self) -> tuple[str, ...]:
        """``flag-list = "(" [flag *(SP flag)] ")"``."""
        return tuple(self.paren_list(self.flag, empty=True))

    # ----------------------------------------------------------- sequence sets

    def sequence_set(self, *, star: bool = True, saved: bool = True) -> SequenceSet:
        """``sequence-set`` (``$`` of RFC 5182 if ``saved``; ``*`` if ``star``).

        sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"
        seq-range    = seq-number ":" seq-number
        seq-number   = nz-number / "*"
        """
        raw = self._match(_SEQUENCE, "a sequence set")
        if raw == b"$":
            if not saved:
                raise self.error("$ is not allowed here")
            return SequenceSet(saved=True)
        ranges: list[tuple[int, int]] = []
        for part in raw.split(b","):
            ends = part.split(b":")
            if len(ends) > 2:
                raise self.error("bad sequence range")
            nums = [self._seq_number(e, star) for e in ends]
            ranges.append((nums[0], nums[-1]))
        return SequenceSet(tuple(ranges))

    def _seq_number(self, raw: bytes, star: bool) -> int:
        if raw == b"*":
            if not star:
                raise self.error("* is not allowed here")
            return STAR
        if not raw.isdigit() or raw[0] == 0x30 or len(raw) > 10 or int(raw) > MAX_NUMBER:
            raise self.error("bad number in sequence set")
        return int(raw)

    # ------------------------------------------------------------------- dates

    def date(self) -> date:
        """``date = date-text / DQUOTE date-text DQUOTE``."""
        quoted = self.take(b'"')
        m = _DATE_TEXT.match(self.data, self.pos)
        if m is None:
            raise self.error("expected a date (d-Mon-yyyy)")
        self.pos = m.end()
        if quoted:
            self.expect(b'"')
        month = _MONTHS.get(m.group(2).decode("ascii").upper())
        try:
            if month is None:
                raise ValueError(month)
            return date(int(m.group(3)), month, int(m.group(1)))
        except ValueError:
            raise self.error("invalid date") from None

    def date_time(self) -> datetime:
        """``date-time``, as a timezone-aware datetime."""
        m = _DATE_TIME.match(self.data, self.pos)
        if m is None:
            raise self.error('expected a date-time ("dd-Mon-yyyy hh:mm:ss +zzzz")')
        day, mon, year, hh, mm, ss, sign, zh, zm = (g.decode("ascii") for g in m.groups())
        month = _MONTHS.get(mon.upper())
        try:
            if month is None or int(zm) > 59:
                raise ValueError(mon)
            offset = timedelta(hours=int(zh), minutes=int(zm))
            tz = timezone(-offset if sign == "-" else offset)
            value = datetime(int(year), month, int(day), int(hh), int(mm), int(ss), tzinfo=tz)
        except ValueError:
            raise self.error("invalid date-time") from None
        self.pos = m.end()
        return value
