"""``mailto:`` notification URIs (RFC 5436 §2): parsing and validation.

Implementation notes:

- The recipients before ``?`` are percent-decoded first and then split at commas (so an
  encoded ``%2C`` separates recipients, as in RFC 5436 §2.1's examples); each must be a
  valid address, optionally with a display name.
- Header fields after ``?`` are ``name=value`` pairs joined by ``&``, percent-decoded.
  ``to``, ``cc`` and ``bcc`` add recipients; ``subject`` and ``body`` are kept; fields
  that only the notifying system may set (RFC 5436 §2.2: ``auto-submitted``, ``from``,
  ``received``, ``return-path``, ``sender`` and the like) are dropped. Any other field is
  copied to the notification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import final
from urllib.parse import unquote

from kernel.mail import Address, Group, parse_address_list
from plugins.sieve.addresses import valid_addr_spec

__all__ = ["MailtoUri", "parse_mailto", "valid_address"]

# RFC 5436 §2.2: fields the URI may not set.
_FORBIDDEN = frozenset(
    {
        "auto-submitted",
        "content-type",
        "content-transfer-encoding",
        "date",
        "from",
        "message-id",
        "mime-version",
        "received",
        "return-path",
        "sender",
        "x-sieve",
    }
)


@final
@dataclass
class MailtoUri:
    """A parsed ``mailto:`` URI.

    ``to``/``cc``/``bcc`` hold ``(display text, addr-spec)`` pairs; ``headers`` the
    other fields in order.
    """

    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    bcc: list[tuple[str, str]] = field(default_factory=list)
    subject: str | None = None
    body: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def recipients(self) -> list[str]:
        """Every recipient addr-spec, To, Cc and Bcc, in order."""
        return [email for _, email in (*self.to, *self.cc, *self.bcc)]


def valid_address(email: str) -> bool:
    """Whether ``email`` is a valid addr-spec (RFC 5322 §3.4.1)."""
    return valid_addr_spec(email)


def _addresses(text: str) -> list[tuple[str, str]] | None:
    found: list[tuple[str, str]] = []
    for item in parse_address_list(text):
        members = item.addresses if isinstance(item, Group) else (item,)
        for member in members:
            if not isinstance(member, Address) or not valid_address(member.email):
                return None
            display = f"{member.name} <{member.email}>" if member.name else member.email
            found.append((display, member.email))
    return found


def parse_mailto(uri: str) -> MailtoUri | None:
    """Parse a ``mailto:`` URI; ``None`` when it is not a valid one."""
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() != "mailto":
        return None
    target, _, query = rest.partition("?")
    result = MailtoUri()
    if target:
        to = _addresses(unquote(target, errors="strict") if "%" in target else target)
        if not to:
            return None
        result.to.extend(to)
    for pair in query.split("&") if query else ():
        name, equals, value = pair.partition("=")
        if not equals or not name:
            return None
        try:
            name = unquote(name, errors="strict").strip().lower()
            value = unquote(value, errors="strict")
        except UnicodeDecodeError:
            return None
        if name in ("to", "cc", "bcc"):
            if not value:
                continue
            found = _addresses(value)
            if found is None:
                return None
            getattr(result, name).extend(found)
        elif name == "subject":
            result.subject = value
        elif name == "body":
            result.body = value
        elif name not in _FORBIDDEN:
            result.headers.append((name, value))
    if not result.recipients:
        return None
    return result
