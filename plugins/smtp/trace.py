"""Trace fields and header edits for local delivery (RFC 5321 §4.4), without I/O.

``Return-Path`` and ``Received`` are prepended at final delivery::

    Return-path-line = "Return-Path:" FWS Reverse-path <CRLF>
    Time-stamp-line  = "Received:" FWS Stamp <CRLF>
    Stamp            = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
    Opt-info         = [Via] [With] [ID] [For] [Additional-Registered-Clauses]

Implementation notes:

* RFC 5321 §4.4: the FOR clause holds exactly one path, so it is written only
  for single-recipient transactions; all local copies then share identical
  bytes (and the store keeps one blob).
* RFC 5321 §4.4: existing ``Return-Path`` fields are removed before ours is
  added ("MAY remove"); existing ``Received`` fields are never touched.
* The ``tls`` clause of RFC 8314 §4.3 needs the IANA cipher-suite name: TLS 1.3
  names from OpenSSL already are; others are written as ``0xHHHH`` from
  OpenSSL's cipher table, or left out when unknown.
* A client's EHLO name is written as given only when it is a domain or address
  literal; anything else goes into a comment, escaped.
"""

from __future__ import annotations

import email.utils
import functools
import re
import ssl
from collections.abc import Iterable
from datetime import datetime

from kernel.mail.headers import scan_fields

__all__ = ["compose", "count_received", "protocol_name", "received_field", "tcp_literal"]

_DOMAIN = re.compile(
    r"^[A-Za-z0-9\x80-\U0010ffff](?:[A-Za-z0-9\x80-\U0010ffff-]*[A-Za-z0-9\x80-\U0010ffff])?"
    r"(?:\.[A-Za-z0-9\x80-\U0010ffff](?:[A-Za-z0-9\x80-\U0010ffff-]*[A-Za-z0-9\x80-\U0010ffff])?)*$"
)
_LITERAL = re.compile(r"^\[[!-Z^-~]+\]$")
_RETURN_PATH = re.compile(rb"return-path", re.IGNORECASE)
_IANA_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def tcp_literal(ip: str) -> str:
    """RFC 5321 §4.1.3: ``[192.0.2.1]`` or ``[IPv6:2001:db8::1]``."""
    return f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"


def _comment(text: str) -> str:
    return re.sub(r"([()\\])", r"\\\1", re.sub(r"[\x00-\x1f\x7f]", "?", text))


@functools.cache
def _cipher_ids() -> dict[str, int]:
    return {c["name"]: c["id"] & 0xFFFF for c in ssl.create_default_context().get_ciphers()}


def _tls_clause(cipher: str) -> str:
    if _IANA_NAME.match(cipher):
        return f"tls {cipher}"
    code = _cipher_ids().get(cipher)
    return f"tls 0x{code:04X}" if code is not None else f"({_comment(cipher)})"


def protocol_name(*, extended: bool, tls: bool, authenticated: bool, utf8: bool) -> str:
    """The WITH protocol (RFC 5321 §4.4; RFC 6531 §4.3; RFC 8314 §4.3's ESMTPS family)."""
    if not extended:
        return "SMTP"
    base = "UTF8SMTP" if utf8 else "ESMTP"
    return base + ("S" if tls else "") + ("A" if authenticated else "")


def received_field(
    *,
    helo: str | None,
    remote_ip: str,
    hostname: str,
    protocol: str,
    queue_id: str,
    recipient: str | None,
    tls_cipher: str | None,
    account: str | None,
    when: datetime,
) -> bytes:
    """One ``Received:`` field (folded, CRLF-terminated) for a message received now."""
    literal = tcp_literal(remote_ip)
    if helo and (_DOMAIN.match(helo) or _LITERAL.match(helo)):
        origin = f"from {helo} ({literal})"
    else:
        origin = f"from {literal} (helo {_comment(helo or 'none')})"
    lines = [f"Received: {origin}"]
    if account:
        lines.append(f"\t(authenticated as {_comment(account)})")
    lines.append(f"\tby {hostname} (stalwart-kernel) with {protocol} id {queue_id}")
    extra = []
    if recipient is not None:
        extra.append(f"for <{recipient}>")
    if tls_cipher:
        extra.append(_tls_clause(tls_cipher))
    if extra:
        lines.append("\t" + " ".join(extra))
    lines[-1] += ";"
    lines.append(f"\t{_date(when.replace(microsecond=0))}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


@functools.lru_cache(maxsize=4)
def _date(when: datetime) -> str:
    # Messages received in the same second share the text (RFC 5322 §3.3 date-time).
    return email.utils.format_datetime(when)


def count_received(message: bytes) -> int:
    """How many ``Received`` fields the message's header holds (RFC 5321 §6.3)."""
    fields, _ = scan_fields(message)
    return sum(1 for name, *_ in fields if name.lower() == b"received")


def compose(
    message: bytes,
    *,
    sender: str,
    trace: bytes,
    add: Iterable[tuple[str, str]] = (),
    remove: Iterable[str] = (),
) -> bytes:
    """The message as stored: Return-Path, our trace, added fields, then the message
    without its old ``Return-Path`` fields and the fields named in ``remove``."""
    dropped = {name.lower() for name in remove} | {"return-path"}
    body = message
    cuts = []
    # Most messages have nothing to drop: no field to remove and no Return-Path in
    # anything that could be their header (which ends at the first empty line at the
    # latest), so they need no scan of their fields.
    head = message.find(b"\r\n\r\n")
    if remove or _RETURN_PATH.search(message, 0, len(message) if head < 0 else head + 2):
        fields, _ = scan_fields(message)
        cuts = [
            (start, end)
            for name, _, _, start, end in fields
            if name.decode("latin-1").lower() in dropped
        ]
    if cuts:
        parts, position = [], 0
        for start, end in cuts:
            parts.append(message[position:start])
            position = end
        parts.append(message[position:])
        body = b"".join(parts)
    added = b"".join(f"{name}: {value}\r\n".encode() for name, value in add)
    return b"Return-Path: <" + sender.encode("utf-8") + b">\r\n" + trace + added + body
