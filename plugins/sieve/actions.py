"""The actions a Sieve run yields, one dataclass per action (RFC 5228 §4 and extensions).

The interpreter never performs an action: it returns these values and the host carries
them out (store into a mailbox, queue a message, record duplicate state). Each class
cites the section that defines it; :attr:`name` is the action's short name (what the
Pigeonhole testsuite's ``test_result_action`` reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, final

__all__ = [
    "Action",
    "Discard",
    "DuplicateMark",
    "Fcc",
    "FileInto",
    "Keep",
    "Notify",
    "Redirect",
    "Reject",
    "Vacation",
]


@final
@dataclass(frozen=True, slots=True)
class Keep:
    """RFC 5228 §4.3 ``keep`` (and §2.10.2 the implicit keep when ``implicit``).

    ``flags`` are the IMAP flags to set (RFC 5232 §5; ``None`` without imap4flags).
    """

    flags: tuple[str, ...] | None = None
    implicit: bool = False
    name: ClassVar[str] = "keep"


@final
@dataclass(frozen=True, slots=True)
class FileInto:
    """RFC 5228 §4.1 ``fileinto``.

    ``copy``: RFC 3894 §3, the implicit keep is not cancelled. ``flags``: RFC 5232 §5.
    ``create``: RFC 5490 §3.2, create the mailbox if missing. ``special_use``: RFC 8579
    §4, store into the mailbox with this special use if there is one. ``mailbox_id``:
    RFC 9042 §3, store into the mailbox with this id if it exists.
    """

    mailbox: str
    copy: bool = False
    flags: tuple[str, ...] | None = None
    create: bool = False
    special_use: str | None = None
    mailbox_id: str | None = None
    name: ClassVar[str] = "store"


@final
@dataclass(frozen=True, slots=True)
class Redirect:
    """RFC 5228 §4.2 ``redirect`` to ``address`` (an addr-spec); ``copy``: RFC 3894 §3."""

    address: str
    copy: bool = False
    name: ClassVar[str] = "redirect"


@final
@dataclass(frozen=True, slots=True)
class Reject:
    """RFC 5429 §2.1 ``ereject`` (``extended``) and §2.2 ``reject`` with ``reason``."""

    reason: str
    extended: bool = False
    name: ClassVar[str] = "reject"


@final
@dataclass(frozen=True, slots=True)
class Discard:
    """RFC 5228 §4.4 ``discard``: cancels the implicit keep, nothing else."""

    name: ClassVar[str] = "discard"


@final
@dataclass(frozen=True, slots=True)
class Fcc:
    """RFC 8580 §3 ``:fcc``: file a copy of a generated message into ``mailbox``.

    The fileinto modifiers (RFC 8580 §3.1): ``flags`` the IMAP flags of the copy
    (RFC 5232 §5; ``None``: not given), ``create`` create the mailbox if missing (RFC
    5490 §3.2), ``special_use`` prefer the mailbox with this special use (RFC 8579 §4),
    ``mailbox_id`` prefer the mailbox with this id (RFC 9042 §5).
    """

    mailbox: str
    flags: tuple[str, ...] | None = None
    create: bool = False
    special_use: str | None = None
    mailbox_id: str | None = None


@final
@dataclass(frozen=True, slots=True)
class Vacation:
    """RFC 5230 §4 ``vacation`` (with RFC 6131 ``:seconds`` and RFC 8580 ``:fcc``).

    ``period`` is the response interval in seconds (``:days`` times 86400, or
    ``:seconds``); ``handle`` identifies the response for tracking (RFC 5230 §4.2: when
    the script gives none, it is derived from the reason, subject, from and mime).
    Whether a reply is due (tracking, automated senders, personal addressing) is decided
    by the host when it carries the action out (:mod:`plugins.sieve.compose`).
    """

    reason: str
    subject: str | None = None
    from_address: str | None = None
    addresses: tuple[str, ...] = ()
    mime: bool = False
    handle: str = ""
    period: int = 7 * 86400
    fcc: Fcc | None = None
    name: ClassVar[str] = "vacation"


@final
@dataclass(frozen=True, slots=True)
class Notify:
    """RFC 5435 §3 ``notify`` (also the deprecated draft-ietf-sieve-notify-00 form).

    ``method`` is the notification URI (``mailto:...``), ``importance`` "1" (high),
    "2" (normal) or "3" (low); ``message`` is the text, already expanded. ``id`` is the
    deprecated draft's identifier (used by ``denotify``); ``legacy`` marks that draft's form,
    whose ``options`` are the recipient addresses.
    """

    method: str
    from_address: str | None = None
    importance: str = "2"
    options: tuple[str, ...] = ()
    message: str | None = None
    id: str | None = None
    fcc: Fcc | None = None
    legacy: bool = False
    name: ClassVar[str] = "notify"


@final
@dataclass(frozen=True, slots=True)
class DuplicateMark:
    """RFC 7352 §3: remember ``key`` for ``seconds`` once delivery succeeds."""

    key: str
    seconds: int
    name: ClassVar[str] = "duplicate_mark"


Action = Keep | FileInto | Redirect | Reject | Discard | Vacation | Notify | DuplicateMark
