"""Reverse-paths and forward-paths of MAIL and RCPT (RFC 5321 §4.1.2, RFC 6531 §3.3).

The grammar, from RFC 5321 §4.1.2 (with RFC 6531 §3.3 adding UTF-8 to ``atext``,
``qtextSMTP`` and ``sub-domain``)::

    Reverse-path   = Path / "<>"
    Forward-path   = Path
    Path           = "<" [ A-d-l ":" ] Mailbox ">"
    A-d-l          = At-domain *( "," At-domain )
    At-domain      = "@" Domain
    Mailbox        = Local-part "@" ( Domain / address-literal )
    Local-part     = Dot-string / Quoted-string
    Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
    QcontentSMTP   = qtextSMTP / quoted-pairSMTP
    quoted-pairSMTP = %d92 %d32-126
    qtextSMTP      = %d32-33 / %d35-91 / %d93-126
    Domain         = sub-domain *("." sub-domain)
    sub-domain     = Let-dig [Ldh-str]
    address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
                      General-address-literal ) "]"

Implementation notes:

* RFC 5321 §4.1.1.3 / Appendix C: a source route (``A-d-l``) is accepted and ignored.
* RFC 5321 §4.5.3.1.1-3: local part at most 64 octets, domain at most 255, the
  whole path at most 256; longer ones get ``501`` ("path too long").
* ``<Postmaster>`` without a domain is accepted where the caller allows it
  (RCPT; RFC 5321 §4.5.1).
"""

from __future__ import annotations

import ipaddress
import re

from plugins.smtp.proto.codes import C501_ARGUMENT_ERROR
from plugins.smtp.proto.commands import ATEXT, Mailbox
from plugins.smtp.proto.errors import RemoteProtocolError
from plugins.smtp.proto.responses import Reply

__all__ = ["parse_path"]

_ATOMS = re.compile(rf"[{ATEXT}]+(?:\.[{ATEXT}]+)*")
# RFC 5321 §4.1.2 qtextSMTP and quoted-pairSMTP, plus UTF-8 (RFC 6531 §3.3).
_QUOTED = re.compile(r'"((?:[ !#-\[\]-~\x80-\U0010ffff]|\\[ -~])*)"')
_LABEL = re.compile(
    r"[A-Za-z0-9\x80-\U0010ffff](?:[A-Za-z0-9\x80-\U0010ffff-]*[A-Za-z0-9\x80-\U0010ffff])?"
)
_DOMAIN = re.compile(rf"{_LABEL.pattern}(?:\.{_LABEL.pattern})*")
_LITERAL = re.compile(r"\[([!-Z^-~]+)\]")
_GENERAL_TAG = re.compile(r"^[A-Za-z0-9-]*[A-Za-z0-9]:[!-Z^-~]+$")

MAX_LOCAL = 64
MAX_DOMAIN = 255
MAX_PATH = 256


def _fail(status: str, text: str) -> RemoteProtocolError:
    return RemoteProtocolError(Reply.of(C501_ARGUMENT_ERROR, status, text))


def _octets(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _literal(text: str, pos: int, status: str) -> tuple[str, int]:
    match = _LITERAL.match(text, pos)
    if match is None:
        raise _fail(status, "malformed address literal")
    inner = match.group(1)
    if inner[:5].lower() == "ipv6:":
        try:
            ipaddress.IPv6Address(inner[5:])
        except ValueError:
            raise _fail(status, "malformed IPv6 address literal") from None
        return f"[IPv6:{inner[5:].lower()}]", match.end()
    if inner[:1].isdigit():
        try:
            ipaddress.IPv4Address(inner)
        except ValueError:
            raise _fail(status, "malformed IPv4 address literal") from None
        return f"[{inner}]", match.end()
    if not _GENERAL_TAG.match(inner):
        raise _fail(status, "malformed address literal")
    return f"[{inner}]", match.end()


def _domain(text: str, pos: int, status: str) -> tuple[str, int]:
    if text.startswith("[", pos):
        return _literal(text, pos, status)
    match = _DOMAIN.match(text, pos)
    if match is None:
        raise _fail(status, "malformed domain")
    domain = match.group()
    if any(_octets(label) > 63 for label in domain.split(".")):
        raise _fail(status, "domain label too long")
    return domain.lower(), match.end()


def _local_part(text: str, pos: int, status: str) -> tuple[str, int]:
    if text.startswith('"', pos):
        match = _QUOTED.match(text, pos)
        if match is None:
            raise _fail(status, "malformed quoted local part")
        return re.sub(r"\\(.)", r"\1", match.group(1)), match.end()
    match = _ATOMS.match(text, pos)
    if match is None:
        raise _fail(status, "malformed local part")
    return match.group(), match.end()


def parse_path(
    text: str, pos: int, *, status: str, null_ok: bool = False, postmaster_ok: bool = False
) -> tuple[Mailbox | None, int]:
    """Parse a ``Path`` (or ``<>``) starting at ``text[pos]``.

    Args:
        text: the command line.
        pos: where the path starts (at ``<``).
        status: the enhanced status for errors (5.1.7 for MAIL, 5.1.3 for RCPT).
        null_ok: accept ``<>`` (a reverse-path), returned as None.
        postmaster_ok: accept ``<Postmaster>`` with no domain.

    Returns:
        The mailbox (None for ``<>``) and the position after ``>``.

    Raises:
        RemoteProtocolError: the path does not follow the grammar or is too long.
    """
    start = pos
    if not text.startswith("<", pos):
        raise _fail(status, "expected <address>")
    pos += 1
    if text.startswith(">", pos):
        if not null_ok:
            raise _fail(status, "an empty path is not allowed here")
        return None, pos + 1
    if text.startswith("@", pos):
        # RFC 5321 §4.1.1.3: a source route is accepted and ignored.
        while True:
            _, pos = _domain(text, pos + 1, status)
            if text.startswith(",@", pos):
                pos += 1
                continue
            if not text.startswith(":", pos):
                raise _fail(status, "malformed source route")
            pos += 1
            break
    if postmaster_ok and text[pos : pos + 11].lower() == "postmaster>":
        # RFC 5321 §4.5.1: "RCPT TO:<Postmaster>" with no domain must be supported.
        return Mailbox("Postmaster", ""), pos + 11
    local, pos = _local_part(text, pos, status)
    if not text.startswith("@", pos):
        raise _fail(status, "expected local-part@domain")
    domain, pos = _domain(text, pos + 1, status)
    if not text.startswith(">", pos):
        raise _fail(status, "expected > after the address")
    pos += 1
    # RFC 5321 §4.5.3.1.1-3: size limits of local part, domain and path.
    if _octets(local) > MAX_LOCAL or _octets(domain) > MAX_DOMAIN:
        raise _fail(status, "address too long")
    if _octets(text[start:pos]) > MAX_PATH:
        raise _fail(status, "path too long")
    return Mailbox(local, domain), pos
