"""The QUOTA commands (RFC 9208 §4.2 to §4.4, formal syntax §7).

    getquota          = "GETQUOTA" SP quota-root-name
    getquotaroot      = "GETQUOTAROOT" SP mailbox
    setquota          = "SETQUOTA" SP quota-root-name SP setquota-list
    setquota-list     = "(" [setquota-resource *(SP setquota-resource)] ")"
    setquota-resource = resource-name SP resource-limit
    quota-root-name   = astring
    resource-limit    = number64
    resource-name     = "STORAGE" / "MESSAGE" / "MAILBOX" /
                        "ANNOTATION-STORAGE" / resource-name-ext
    resource-name-ext = atom

Quota root names are kept as sent (they are not mailbox names); resource names are
upper-cased.
"""

from __future__ import annotations

from plugins.imap.proto.commands import GetQuota, GetQuotaRoot, SetQuota
from plugins.imap.proto.parser.core import Reader

__all__ = ["parse_getquota", "parse_getquotaroot", "parse_setquota"]


def parse_getquota(r: Reader, tag: str) -> GetQuota:
    """``GETQUOTA root``."""
    r.sp()
    root = r.astring_text()
    r.end()
    return GetQuota(tag, root)


def parse_getquotaroot(r: Reader, tag: str) -> GetQuotaRoot:
    """``GETQUOTAROOT mailbox``."""
    r.sp()
    mailbox = r.mailbox()
    r.end()
    return GetQuotaRoot(tag, mailbox)


def parse_setquota(r: Reader, tag: str) -> SetQuota:
    """``SETQUOTA root (resource limit ...)``."""
    r.sp()
    root = r.astring_text()
    r.sp()

    def resource() -> tuple[str, int]:
        name = r.keyword()
        r.sp()
        return name, r.number64()

    limits = tuple(r.paren_list(resource, empty=True))
    r.end()
    return SetQuota(tag, root, limits)
