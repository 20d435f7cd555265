"""LIST and LSUB (RFC 9051 §6.3.9; RFC 3501 §6.3.9 LSUB; LIST-EXTENDED RFC 5258).

Selection options: SUBSCRIBED, REMOTE, RECURSIVEMATCH (RFC 5258 §3.1), SPECIAL-USE
(RFC 6154 §3). Return options: SUBSCRIBED, CHILDREN (RFC 5258 §3.2), SPECIAL-USE
(RFC 6154 §3), STATUS (RFC 5819 §2), METADATA (RFC 9590). Unknown options are BAD
(RFC 5258 §3: "A server MUST respond to options it does not recognize with a BAD
response"); a repeated option counts once (same section).

    list             = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
                       [SP list-return-opts]
    list-select-opts = "(" [list-select-opt *(SP list-select-opt)] ")"
    list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
    return-option    = "SUBSCRIBED" / "CHILDREN" / status-option / option-extension
    status-option    = "STATUS" SP "(" status-att *(SP status-att) ")"
    mbox-or-pat      = list-mailbox / patterns
    patterns         = "(" list-mailbox *(SP list-mailbox) ")"
    lsub             = "LSUB" SP mailbox SP list-mailbox

The METADATA return option is read as ``"METADATA" SP "(" [options SP] entries ")"``
with MAXSIZE given either bare (``MAXSIZE n``) or as GETMETADATA's option list
(``(MAXSIZE n)``), and entries either bare or parenthesised: the RFC 9590 text is not in
our RFC library, so this accepts every form its examples use.

The reference name is kept as sent, never INBOX-normalised (it is a prefix, not a
mailbox).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from plugins.imap.proto.commands import List, ListMetadata, Lsub
from plugins.imap.proto.parser.core import Reader
from plugins.imap.proto.parser.mailbox import status_item
from plugins.imap.proto.parser.metadata import entry_name

__all__ = ["parse_list", "parse_lsub"]

_SELECT = {
    "SUBSCRIBED": "subscribed",
    "REMOTE": "remote",
    "RECURSIVEMATCH": "recursive_match",
    "SPECIAL-USE": "special_use",
}
_RETURN = {
    "SUBSCRIBED": "return_subscribed",
    "CHILDREN": "return_children",
    "SPECIAL-USE": "return_special_use",
}


def parse_list(r: Reader, tag: str) -> List:
    """``LIST``, basic or extended."""
    cmd = List(tag, "", ())
    r.sp()
    flags: dict[str, Any] = {}  # keyword arguments for List
    if r.peek() == 0x28:  # "(": selection options
        for option in r.paren_list(r.keyword, empty=True):
            if option not in _SELECT:
                raise r.error(f"unknown LIST selection option {option}")
            flags[_SELECT[option]] = True
        # RFC 5258 §3.1: RECURSIVEMATCH alone (or with REMOTE only) is BAD.
        if flags.get("recursive_match") and not (
            flags.get("subscribed") or flags.get("special_use")
        ):
            raise r.error("RECURSIVEMATCH needs another selection option")
        flags["extended"] = True
        r.sp()
    reference = r.text(r.astring())
    r.sp()
    if r.peek() == 0x28:
        patterns = tuple(r.paren_list(r.list_mailbox))
        flags["extended"] = True
    else:
        patterns = (r.list_mailbox(),)
    if not r.at_end():
        r.sp()
        if not r.take_keyword("RETURN"):
            raise r.error("expected RETURN")
        r.sp()
        for name, value in r.paren_list(lambda: _return_option(r), empty=True):
            flags[name] = value
        flags["extended"] = True
    r.end()
    return replace(cmd, reference=reference, patterns=patterns, **flags)


def _return_option(r: Reader) -> tuple[str, Any]:
    option = r.keyword()
    if option in _RETURN:
        return _RETURN[option], True
    if option == "STATUS":
        r.sp()
        return "return_status", tuple(r.paren_list(lambda: status_item(r)))
    if option == "METADATA":
        r.sp()
        return "return_metadata", _metadata_option(r)
    raise r.error(f"unknown LIST return option {option}")


def _metadata_option(r: Reader) -> ListMetadata:
    r.expect(b"(")
    maxsize: int | None = None
    if r.take(b"("):  # (MAXSIZE n)
        if not r.take_keyword("MAXSIZE"):
            raise r.error("expected MAXSIZE")
        r.sp()
        maxsize = r.number()
        r.expect(b")")
        r.sp()
    elif r.take_keyword("MAXSIZE"):
        r.sp()
        maxsize = r.number()
        r.sp()
    if r.peek() == 0x28:
        entries = r.paren_list(lambda: entry_name(r))
        r.expect(b")")
    else:
        entries = [entry_name(r)]
        while not r.take(b")"):
            r.sp()
            entries.append(entry_name(r))
    return ListMetadata(tuple(entries), maxsize)


def parse_lsub(r: Reader, tag: str) -> Lsub:
    """``LSUB reference pattern`` (IMAP4rev1)."""
    r.sp()
    reference = r.text(r.astring())
    r.sp()
    pattern = r.list_mailbox()
    r.end()
    return Lsub(tag, reference, pattern)
