"""Address syntax for Sieve: addr-specs in arguments, and SMTP paths in the envelope.

Implementation notes:

- :func:`normalize_addr_spec` reads what ``redirect``, ``vacation :from`` and notify
  methods accept: an RFC 5322 §3.4.1 addr-spec, optionally inside ``Name <...>``, with
  white space around the parts; a quoted local part whose content is a dot-atom loses
  its quotes (``"Sirius"@example.net`` is ``Sirius@example.net``).
- :func:`parse_smtp_path` reads an RFC 5321 §4.1.2 path as the ``envelope`` test sees
  it: brackets optional, source routes dropped, a bare local part allowed (as for
  ``MAILER-DAEMON``). It is lenient about dots in local parts and about characters in
  host names, as mail in the wild needs; anything else that does not parse is invalid
  and matches nothing.
"""

from __future__ import annotations

import re

from kernel.mail import Address, parse_address_list

__all__ = ["normalize_addr_spec", "parse_smtp_path", "valid_addr_spec"]

# RFC 5322 §3.2.3: atext; dot-atom-text = 1*atext *("." 1*atext)
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]"
_DOT_ATOM = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
# RFC 5322 §3.2.4: quoted-string (without CFWS)
_QUOTED = re.compile(r'"(?:[^"\\\r\n]|\\.)*"')
# RFC 5322 §3.4.1: domain = dot-atom / domain-literal
_LITERAL = re.compile(r"\[[^\[\]\\\r\n]*\]")
# RFC 5321 §4.1.2, leniently: host labels of letters, digits, "-" and "_"; RFC 6531
# §3.3: U-labels (UTF8-non-ascii) too. Surrogates (escaped invalid octets) are not.
_UTF8 = "\u0080-\ud7ff\ue000-\U0010ffff"
_LABEL = rf"[A-Za-z0-9_\-{_UTF8}]+"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
# RFC 5321 §4.1.2: Local-part = Dot-string / Quoted-string (dots allowed anywhere here);
# RFC 6531 §3.3: atext =/ UTF8-non-ascii (an SMTPUTF8 envelope).
_SMTP_LOCAL = re.compile(rf"[A-Za-z0-9!#$%&'*+\-/=?^_`{{|}}~.{_UTF8}]+|\"(?:[^\"\\\r\n]|\\.)*\"")
# RFC 5321 §4.1.2: A-d-l = At-domain *( "," At-domain ); At-domain = "@" Domain
_ROUTE = re.compile(rf"@{_LABEL}(?:\.{_LABEL})*(?:,@{_LABEL}(?:\.{_LABEL})*)*:")


def valid_addr_spec(email: str) -> bool:
    """RFC 5322 §3.4.1: ``local-part "@" domain`` (ASCII; no obsolete forms)."""
    local, at, domain = email.rpartition("@")
    if not at:
        return False
    local_ok = _DOT_ATOM.fullmatch(local) or _QUOTED.fullmatch(local)
    domain_ok = _DOT_ATOM.fullmatch(domain) or _LITERAL.fullmatch(domain)
    return bool(local_ok and domain_ok)


def normalize_addr_spec(value: str) -> str | None:
    """The single address in ``value`` as a plain addr-spec, or ``None`` if invalid."""
    items = parse_address_list(value, decode=False)
    if len(items) != 1 or not isinstance(items[0], Address):
        return None
    email = items[0].email
    if not valid_addr_spec(email):
        return None
    local, _, domain = email.rpartition("@")
    if local.startswith('"') and _DOT_ATOM.fullmatch(local[1:-1]):
        local = local[1:-1]
    return f"{local}@{domain}"


def parse_smtp_path(value: str) -> str | None:
    """The mailbox of an SMTP path (``""`` for the null path), or ``None`` if invalid."""
    text = value.strip()
    if text.startswith("<") or text.endswith(">"):
        if not (text.startswith("<") and text.endswith(">")) or len(text) < 2:
            return None
        text = text[1:-1].strip()
    if text == "":
        return ""
    route = _ROUTE.match(text)
    if route is not None:
        text = text[route.end() :]
    elif text.startswith("@"):
        return None
    local, at, domain = text.rpartition("@")
    if not at:
        return text if _SMTP_LOCAL.fullmatch(text) else None
    if not _SMTP_LOCAL.fullmatch(local) or not (
        _HOST.fullmatch(domain) or _LITERAL.fullmatch(domain)
    ):
        return None
    return text
