"""FETCH ENVELOPE: the header summary as IMAP sends it (RFC 9051 §7.5.2, §9 ``envelope``).

    envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
               env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
    address  = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"

Implementation notes:

- Values come from the raw header, not from the decoded summary in
  :class:`kernel.mail.Message`: RFC 9051 §7.5.2 sends the fields as written, so
  RFC 2047 encoded-words stay encoded, the Date keeps its comment and Message-ID and
  In-Reply-To keep their angle brackets. Values are unfolded (a quoted string cannot
  hold a line break) and stripped of surrounding white space. The first occurrence of a
  field counts, as in :mod:`kernel.mail.message`.
- Date, Subject, In-Reply-To and Message-ID: absent is NIL, present but empty is ``""``.
  From, To, Cc and Bcc: absent or empty (no address found) is NIL. Sender and Reply-To
  fall back to From when absent or empty (RFC 9051 §7.5.2).
- Addresses are parsed by :func:`kernel.mail.parse_address_list` with ``decode=False``:
  display names lose their RFC 5322 quoting only. The local part loses its quoting too
  (``addr-mailbox`` "after removing [RFC5322] quoting"). Source routes are dropped by the
  parser, so ``addr-adl`` is always NIL.
- Groups (RFC 9051 §7.5.2): ``(NIL NIL "name" NIL)``, the members, then
  ``(NIL NIL NIL NIL)``. A group without a name gets ``""`` so that its start is not
  read as an end marker.
- A mailbox without a domain (``root``) or without an address (``John Doe``) cannot
  have a NIL host, which would make it a group marker: its missing pieces are ``""``.
- 8-bit header text (RFC 6532) is sent as is: a quoted string with ``utf8``, else a
  literal (see :func:`plugins.imap.proto.responses.string`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kernel.mail import (
    Address,
    Group,
    Message,
    header_text,
    parse_address_list,
    parse_header_block,
    unfold,
)
from plugins.imap.proto.responses import nstring, plist, string

__all__ = ["EMPTY_ENVELOPE", "envelope"]

#: The envelope of a message whose header is unknown (every member NIL).
EMPTY_ENVELOPE = b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"

_TEXT_FIELDS = ("date", "subject")
_ID_FIELDS = ("in-reply-to", "message-id")
_ADDRESS_FIELDS = frozenset({"from", "sender", "reply-to", "to", "cc", "bcc"})
_WANTED = _ADDRESS_FIELDS.union(_TEXT_FIELDS, _ID_FIELDS)
# RFC 9051 §7.5.2: "the end of group marker" is an address with every member NIL.
_GROUP_END = b"(NIL NIL NIL NIL)"
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)


def _raw_value(value: bytes) -> bytes:
    """A raw field value, unfolded and stripped of surrounding white space."""
    return unfold(value).strip(b" \t\r\n")


def _local_part(local: str) -> str:
    """The local part without RFC 5322 quoting (``"john doe"`` is ``john doe``)."""
    if len(local) >= 2 and local[0] == '"' and local[-1] == '"':
        return _QUOTED_PAIR.sub(r"\1", local[1:-1])
    return local


def _mailbox(address: Address, utf8: bool) -> bytes:
    """One ``address`` structure for a mailbox."""
    local, at, domain = address.email.rpartition("@")
    if not at:
        local, domain = address.email, ""
    return b"(%s NIL %s %s)" % (
        nstring(address.name, utf8=utf8),
        string(_local_part(local), utf8=utf8),
        string(domain, utf8=utf8),
    )


def _address_list(value: bytes | None, utf8: bool) -> bytes | None:
    """The parenthesised address list of a field, ``None`` when absent or empty."""
    if value is None:
        return None
    entries: list[bytes] = []
    for entry in parse_address_list(header_text(value), decode=False):
        if isinstance(entry, Group):
            # RFC 9051 §7.5.2: a NIL host with a non-NIL mailbox starts a group and holds
            # its name; a NIL mailbox as well ends it.
            entries.append(b"(NIL NIL %s NIL)" % string(entry.name or "", utf8=utf8))
            entries.extend(_mailbox(member, utf8) for member in entry.addresses)
            entries.append(_GROUP_END)
        else:
            entries.append(_mailbox(entry, utf8))
    # RFC 9051 §9: env-from = "(" 1*address ")" / nil -- no space between addresses.
    return b"(" + b"".join(entries) + b")" if entries else None


def _first_fields(raw: bytes, message: Message) -> dict[str, bytes]:
    """The raw value of the first occurrence of each envelope field, by lowercased name."""
    root = message.root
    found: dict[str, bytes] = {}
    for header in parse_header_block(raw, root.header_start, root.header_end):
        name = header.lower_name
        if name in _WANTED and name not in found:
            found[name] = header.value
    return found


def envelope(raw: bytes, message: Message, *, utf8: bool = False) -> bytes:
    """The ENVELOPE of ``message`` (a top-level or an encapsulated one) as sent.

    Args:
        raw: the bytes the message's offsets index.
        message: the parsed message (``message.root`` locates its header).
        utf8: UTF-8 may go in quoted strings (IMAP4rev2 or UTF8=ACCEPT).

    Returns:
        The serialised ``envelope`` production, parentheses included.
    """
    fields = _first_fields(raw, message)
    members: list[bytes] = []
    for name in _TEXT_FIELDS:
        value = fields.get(name)
        members.append(nstring(None if value is None else _raw_value(value), utf8=utf8))
    from_ = _address_list(fields.get("from"), utf8)
    sender = _address_list(fields.get("sender"), utf8) or from_
    reply_to = _address_list(fields.get("reply-to"), utf8) or from_
    addresses: Sequence[bytes | None] = (
        from_,
        sender,
        reply_to,
        _address_list(fields.get("to"), utf8),
        _address_list(fields.get("cc"), utf8),
        _address_list(fields.get("bcc"), utf8),
    )
    members.extend(b"NIL" if entry is None else entry for entry in addresses)
    for name in _ID_FIELDS:
        value = fields.get(name)
        members.append(nstring(None if value is None else _raw_value(value), utf8=utf8))
    return plist(members)
