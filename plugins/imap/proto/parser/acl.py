"""The ACL commands (RFC 4314 §3, formal syntax §4).

setacl      = "SETACL" SP mailbox SP identifier SP mod-rights
deleteacl   = "DELETEACL" SP mailbox SP identifier
getacl      = "GETACL" SP mailbox
listrights  = "LISTRIGHTS" SP mailbox SP identifier
myrights    = "MYRIGHTS" SP mailbox
identifier  = astring
mod-rights  = astring      ; +rights to add, -rights to remove, rights to replace
"""

from __future__ import annotations

from plugins.imap.proto.commands import DeleteAcl, GetAcl, ListRights, MyRights, SetAcl
from plugins.imap.proto.parser.core import Reader

__all__ = [
    "parse_deleteacl",
    "parse_getacl",
    "parse_listrights",
    "parse_myrights",
    "parse_setacl",
]


def _mailbox_identifier(r: Reader) -> tuple[str, str]:
    r.sp()
    mailbox = r.mailbox()
    r.sp()
    return mailbox, r.astring_text()


def parse_setacl(r: Reader, tag: str) -> SetAcl:
    """``SETACL mailbox identifier [+|-]rights``."""
    mailbox, identifier = _mailbox_identifier(r)
    r.sp()
    rights = r.astring_text()
    r.end()
    if rights[:1] == "+":
        return SetAcl(tag, mailbox, identifier, "add", rights[1:])
    if rights[:1] == "-":
        return SetAcl(tag, mailbox, identifier, "remove", rights[1:])
    return SetAcl(tag, mailbox, identifier, "replace", rights)


def parse_deleteacl(r: Reader, tag: str) -> DeleteAcl:
    """``DELETEACL mailbox identifier``."""
    mailbox, identifier = _mailbox_identifier(r)
    r.end()
    return DeleteAcl(tag, mailbox, identifier)


def parse_listrights(r: Reader, tag: str) -> ListRights:
    """``LISTRIGHTS mailbox identifier``."""
    mailbox, identifier = _mailbox_identifier(r)
    r.end()
    return ListRights(tag, mailbox, identifier)


def parse_getacl(r: Reader, tag: str) -> GetAcl:
    """``GETACL mailbox``."""
    r.sp()
    mailbox = r.mailbox()
    r.end()
    return GetAcl(tag, mailbox)


def parse_myrights(r: Reader, tag: str) -> MyRights:
    """``MYRIGHTS mailbox``."""
    r.sp()
    mailbox = r.mailbox()
    r.end()
    return MyRights(tag, mailbox)
