"""SMTP commands as parsed: one frozen dataclass per command, and the :data:`Command` union.

The parser (:mod:`plugins.smtp.proto.parser`) builds these from a command line;
the session dispatches on the type to ``stages/``. Arguments are already checked
against the grammar of RFC 5321 §4.1 and of the extensions named per class.

Implementation notes:

* Verbs and parameter keywords are case-insensitive (RFC 5321 §2.4); parameter
  keywords are upper-cased, and so are enumerated values (``BODY=8bitmime``).
* xtext values (RFC 3461 §4: ``ENVID``, ``ORCPT``, ``AUTH``) are decoded.
* A :class:`Mailbox` keeps the local part unquoted (quoted pairs resolved) and
  the domain lower-cased when it is ASCII; :meth:`Mailbox.__str__` gives the
  canonical ``local@domain`` with the local part quoted again where needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import final

__all__ = [
    "Auth",
    "Bdat",
    "Command",
    "Data",
    "Ehlo",
    "Expn",
    "Help",
    "Mail",
    "MailParams",
    "Mailbox",
    "Noop",
    "Quit",
    "Rcpt",
    "RcptParams",
    "Rset",
    "StartTls",
    "Vrfy",
]

# RFC 5321 §4.1.2: Dot-string = Atom *("." Atom); RFC 6531 §3.3 adds UTF8-non-ascii to atext.
ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-"
_DOT_STRING = re.compile(rf"^[{ATEXT}]+(?:\.[{ATEXT}]+)*$")


@final
@dataclass(frozen=True, slots=True)
class Mailbox:
    """``Local-part "@" ( Domain / address-literal )`` (RFC 5321 §4.1.2).

    ``domain`` is empty only for the special recipient ``<Postmaster>``
    (RFC 5321 §4.5.1).
    """

    local: str
    domain: str

    @property
    def is_literal(self) -> bool:
        """True if the domain is an address literal (``[192.0.2.1]``)."""
        return self.domain.startswith("[")

    @property
    def utf8(self) -> bool:
        """True if the address needs SMTPUTF8 (RFC 6531 §3.3)."""
        return not (self.local.isascii() and self.domain.isascii())

    @property
    def local_text(self) -> str:
        """The local part as written on the wire (quoted if it is not a Dot-string)."""
        if _DOT_STRING.match(self.local):
            return self.local
        escaped = self.local.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'

    def __str__(self) -> str:
        return f"{self.local_text}@{self.domain}" if self.domain else self.local_text


@final
@dataclass(frozen=True, slots=True)
class MailParams:
    """The MAIL parameters this server knows.

    Args:
        size: SIZE= (RFC 1870 §6), the declared message size.
        body: BODY= (RFC 6152 §2; RFC 3030 §3): ``7BIT``, ``8BITMIME`` or ``BINARYMIME``.
        smtputf8: the SMTPUTF8 keyword was given (RFC 6531 §3.4).
        ret: RET= (RFC 3461 §4.3): ``FULL`` or ``HDRS``.
        envid: ENVID= (RFC 3461 §4.4), decoded.
        auth: AUTH= (RFC 4954 §5), decoded; ``"<>"`` for an unknown submitter.
        raw: every parameter as given, keyword upper-cased, for the pipeline.
    """

    size: int | None = None
    body: str | None = None
    smtputf8: bool = False
    ret: str | None = None
    envid: str | None = None
    auth: str | None = None
    raw: tuple[tuple[str, str | None], ...] = ()


@final
@dataclass(frozen=True, slots=True)
class RcptParams:
    """The RCPT parameters this server knows (RFC 3461 §4.1, §4.2).

    Args:
        notify: NOTIFY=: ``{"NEVER"}`` or a subset of SUCCESS, FAILURE, DELAY.
        orcpt: ORCPT=: ``(address type, decoded address)``.
        raw: every parameter as given, keyword upper-cased.
    """

    notify: frozenset[str] | None = None
    orcpt: tuple[str, str] | None = None
    raw: tuple[tuple[str, str | None], ...] = ()


@final
@dataclass(frozen=True, slots=True)
class Ehlo:
    """``EHLO domain`` (``extended``) or ``HELO domain`` (RFC 5321 §4.1.1.1)."""

    domain: str
    extended: bool = True


@final
@dataclass(frozen=True, slots=True)
class Mail:
    """``MAIL FROM:<reverse-path> [params]`` (RFC 5321 §4.1.1.2); ``sender`` None for ``<>``."""

    sender: Mailbox | None
    params: MailParams = field(default_factory=MailParams)


@final
@dataclass(frozen=True, slots=True)
class Rcpt:
    """``RCPT TO:<forward-path> [params]`` (RFC 5321 §4.1.1.3)."""

    recipient: Mailbox
    params: RcptParams = field(default_factory=RcptParams)


@final
@dataclass(frozen=True, slots=True)
class Data:
    """``DATA`` (RFC 5321 §4.1.1.4)."""


@final
@dataclass(frozen=True, slots=True)
class Bdat:
    """``BDAT size [LAST]`` (RFC 3030 §2); the chunk follows the command line."""

    size: int
    last: bool = False


@final
@dataclass(frozen=True, slots=True)
class Rset:
    """``RSET`` (RFC 5321 §4.1.1.5)."""


@final
@dataclass(frozen=True, slots=True)
class Vrfy:
    """``VRFY string`` (RFC 5321 §4.1.1.6)."""

    argument: str


@final
@dataclass(frozen=True, slots=True)
class Expn:
    """``EXPN string`` (RFC 5321 §4.1.1.7)."""

    argument: str


@final
@dataclass(frozen=True, slots=True)
class Help:
    """``HELP [string]`` (RFC 5321 §4.1.1.8)."""

    topic: str = ""


@final
@dataclass(frozen=True, slots=True)
class Noop:
    """``NOOP [string]`` (RFC 5321 §4.1.1.9)."""


@final
@dataclass(frozen=True, slots=True)
class Quit:
    """``QUIT`` (RFC 5321 §4.1.1.10)."""


@final
@dataclass(frozen=True, slots=True)
class StartTls:
    """``STARTTLS`` (RFC 3207 §4)."""


@final
@dataclass(frozen=True, slots=True)
class Auth:
    """``AUTH mechanism [initial-response]`` (RFC 4954 §4).

    ``initial`` is the base64 text as sent (``"="`` for an empty response), or
    None when absent; the session decodes it.
    """

    mechanism: str
    initial: str | None = None


Command = (
    Ehlo | Mail | Rcpt | Data | Bdat | Rset | Vrfy | Expn | Help | Noop | Quit | StartTls | Auth
)
