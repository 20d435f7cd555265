"""SORT keys exactly as RFC 5256 §2 and RFC 5957 define them (sans-IO).

:func:`base_subject` is RFC 5256 §2.1's extraction, which every server and
disconnected client "MUST use exactly"; :class:`SortInfo` is what one message offers
to SORT and THREAD; :func:`sort_uids` orders messages by a list of criteria.

Implementation notes:

* Strings collate with ``i;ascii-casemap`` (RFC 5256 §3, the default collation): ASCII
  letters are folded to upper case and the octets compared, so non-ASCII sorts
  bytewise in its UTF-8 form.
* The sent date is the Date field in UTC, or INTERNALDATE without one (RFC 5256
  §2.2); ties between equal keys go by sequence number (RFC 5256 §3), i.e. by UID.
* FROM/TO/CC sort by the first address's local part (RFC 5256 §3 "addr-mailbox");
  DISPLAYFROM/DISPLAYTO by its display name, or the address without one (RFC 5957 §2).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, final

from kernel.mail import Address, Group, Message

__all__ = ["SortInfo", "base_subject", "is_reply_or_forward", "sort_uids"]

# RFC 5256 §5: subj-blob = "[" *BLOBCHAR "]" *WSP ; subj-refwd = ("re" / ("fw" ["d"]))
# *WSP [subj-blob] ":" ; subj-leader = (*subj-blob subj-refwd) / WSP
_BLOB: Final = r"\[[^\[\]]*\][ \t]*"
_LEADER: Final = re.compile(rf"^(?:(?:{_BLOB})*(?:re|fwd?)[ \t]*(?:{_BLOB})?:|[ \t])", re.I)
_BLOB_PREFIX: Final = re.compile(rf"^{_BLOB}")
# subj-trailer = "(fwd)" / WSP
_TRAILER: Final = re.compile(r"(?:\(fwd\)|[ \t])$", re.I)
_SPACES: Final = re.compile(r"[ \t\r\n]+")


def _strip_trailers(text: str) -> tuple[str, bool]:
    removed = False
    while True:
        match = _TRAILER.search(text)
        if match is None:
            return text, removed
        removed = removed or match.group(0).lower() == "(fwd)"
        text = text[: match.start()]


def _extract(subject: str) -> tuple[str, bool]:
    """The base subject, and whether a reply/forward marker was removed."""
    text = _SPACES.sub(" ", subject)  # step 1 (RFC 2047 words are decoded already)
    marked = False
    while True:
        text, fwd = _strip_trailers(text)  # step 2
        marked = marked or fwd
        while True:  # steps 3 to 5
            leader = _LEADER.match(text)
            if leader is not None and leader.group(0):
                marked = marked or ":" in leader.group(0)
                text = text[leader.end() :]
                continue
            blob = _BLOB_PREFIX.match(text)
            if blob is not None and text[blob.end() :].strip(" \t"):
                text = text[blob.end() :]
                continue
            break
        # Step 6: "[fwd:" subject "]".
        if text.lower().startswith("[fwd:") and text.endswith("]"):
            text = text[5:-1]
            marked = True
            continue
        return text, marked


def base_subject(subject: str | None) -> str:
    """RFC 5256 §2.1 base subject of a (decoded) subject."""
    return _extract(subject or "")[0]


def is_reply_or_forward(subject: str | None) -> bool:
    """RFC 5256 §2.2 (REFERENCES): extraction removed a subj-refwd, a "(fwd)" trailer,
    or a subj-fwd-hdr and subj-fwd-trl."""
    return _extract(subject or "")[1]


def _casemap(text: str) -> bytes:
    """``i;ascii-casemap``: ASCII upper-cased, compared as UTF-8 octets."""
    return text.encode("utf-8", "replace").upper()


def _first(addresses: tuple[Address | Group, ...]) -> Address | None:
    for item in addresses:
        if isinstance(item, Address):
            return item
        if item.addresses:
            return item.addresses[0]
    return None


def _mailbox(addresses: tuple[Address | Group, ...]) -> bytes:
    first = _first(addresses)
    if first is None:
        return b""
    local = first.email.rpartition("@")[0] if "@" in first.email else first.email
    return _casemap(local)


def _display(addresses: tuple[Address | Group, ...]) -> bytes:
    first = _first(addresses)
    if first is None:
        return b""
    return _casemap((first.name or "").strip() or first.email)


@final
@dataclass(frozen=True, slots=True)
class SortInfo:
    """What SORT and THREAD need of one message."""

    uid: int
    size: int
    arrival: float  # INTERNALDATE
    sent: float  # RFC 5256 §2.2 sent date (INTERNALDATE when there is no Date)
    message: Message

    @classmethod
    def of(cls, uid: int, size: int, arrival: float, message: Message) -> SortInfo:
        """The info of a stored message."""
        sent = message.date.timestamp() if message.date is not None else arrival
        return cls(uid, size, arrival, sent, message)

    def key(self, name: str) -> bytes | float | int:
        """The value compared for the SORT key ``name``."""
        message = self.message
        if name == "ARRIVAL":
            return self.arrival
        if name == "DATE":
            return self.sent
        if name == "SIZE":
            return self.size
        if name == "SUBJECT":
            return _casemap(base_subject(message.subject))
        if name == "FROM":
            return _mailbox(message.from_)
        if name == "TO":
            return _mailbox(message.to)
        if name == "CC":
            return _mailbox(message.cc)
        if name == "DISPLAYFROM":
            return _display(message.from_)
        if name == "DISPLAYTO":
            return _display(message.to)
        raise ValueError(f"unknown sort key {name}")


def sort_uids(infos: Sequence[SortInfo], criteria: Sequence[tuple[str, bool]]) -> list[int]:
    """UIDs ordered by ``criteria`` (``(key, reverse)`` pairs), then by UID."""
    ordered = sorted(infos, key=lambda i: i.uid)
    for name, reverse in reversed(criteria):
        ordered.sort(key=lambda i, name=name: i.key(name), reverse=reverse)  # type: ignore[misc]
    return [i.uid for i in ordered]
