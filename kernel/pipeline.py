"""The message pipeline: what stage hooks see, the verdicts they give, and how they run.

Protocols that accept mail (SMTP now; LMTP and JMAP submission later) call the
``stalwart_inbound_*`` and ``stalwart_before_delivery`` hooks at each stage of a
transaction through :func:`run_stage`. Every implementation returns an async
callable (or ``None``); the callables are awaited one after another in plugin
order and each answers with a :class:`Verdict` (or ``None``, meaning "no
opinion"). The first ``reject`` or ``tempfail`` ends the stage; header edits
accumulate; a ``quarantine`` from any plugin quarantines the message.

Implementation notes:

* This is a variant of shape 2 in :mod:`kernel.hookspecs`: instead of "the first
  non-``None`` result wins", every callable runs until one refuses. The same
  strictness applies: a hook that returns something other than ``None`` or an
  async callable, or a callable that answers something other than a
  :class:`Verdict` or ``None``, is a :class:`~kernel.errors.PluginError`.
* Verdicts check their own consistency at construction (a reject carries a 5xx
  code and a ``5.x.x`` status, header names are RFC 5322 field names, no text
  contains a line break), so a protocol can put them on the wire unchanged.
* The records handed to hooks are frozen: a hook cannot change the envelope
  behind the protocol's back; it asks for changes through its verdict.
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, final

from kernel.errors import PluginError

if TYPE_CHECKING:
    import pluggy

    from kernel.net.connection import TLSInfo

__all__ = [
    "DeliveryTarget",
    "Envelope",
    "Filing",
    "SessionInfo",
    "Verdict",
    "VerdictAction",
    "merge_verdicts",
    "original_address",
    "run_stage",
]

# RFC 5322 §3.6.8: field-name = 1*ftext; ftext = %d33-57 / %d59-126.
_FIELD_NAME = re.compile(r"^[!-9;-~]{1,76}$")
_STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")
_MAX_TEXT = 400
# RFC 8621 §4.1.1: a keyword is an IMAP atom (RFC 9051 §9: no atom-specials).
_KEYWORD = re.compile(r'^[^(){ %*"\\\]\x00-\x1f\x7f-\U0010ffff]{1,255}$')


class VerdictAction(enum.StrEnum):
    """What a stage hook decided."""

    ACCEPT = "accept"
    REJECT = "reject"
    TEMPFAIL = "tempfail"
    QUARANTINE = "quarantine"


def _check_text(text: str, what: str) -> None:
    if any(c in text for c in "\r\n\x00"):
        raise ValueError(f"{what} must be one line without NUL: {text!r}")
    if len(text) > _MAX_TEXT:
        raise ValueError(f"{what} is longer than {_MAX_TEXT} characters")


def _check_header_edits(add: tuple[tuple[str, str], ...], remove: tuple[str, ...]) -> None:
    for name, value in add:
        if not _FIELD_NAME.match(name):
            raise ValueError(f"{name!r} is not a header field name")
        _check_text(value, f"header {name}")
    for name in remove:
        if not _FIELD_NAME.match(name):
            raise ValueError(f"{name!r} is not a header field name")
        if name.lower() in ("received", "return-path"):
            # RFC 5321 §4.4: trace fields must not be changed or deleted.
            raise ValueError(f"{name} fields cannot be removed")


@final
@dataclass(frozen=True, slots=True)
class Filing:
    """One stored copy a delivery verdict asks for (Sieve keep/fileinto, a rule's folder).

    Args:
        mailbox: the mailbox path; None is the delivery's default mailbox (keep).
        keywords: the store keywords the copy gets, JMAP-style (``$seen``,
            ``$label1``; :func:`kernel.store.keywords.flag_to_keyword` converts
            IMAP flags).
        create: create ``mailbox`` if it does not exist (RFC 5490 §3.2 ``:create``);
            otherwise a missing mailbox falls back to the default one.
        special_use: prefer the mailbox with this role (RFC 8579 ``:specialuse``,
            e.g. ``junk``), ``mailbox`` being the fallback.
        mailbox_id: prefer the mailbox with this store id (RFC 9042 ``:mailboxid``).
        add_headers: ``(name, value)`` fields to add to this copy only, after the
            verdict's own edits (which apply to every copy). Sieve needs this: a
            copy is stored with the header as ``editheader`` had left it when the
            copy was asked for (RFC 5293 §7).
        remove_headers: field names whose fields this copy loses (trace fields
            cannot be removed), like the verdict's ``remove_headers``.
    """

    mailbox: str | None = None
    keywords: tuple[str, ...] = ()
    create: bool = False
    special_use: str | None = None
    mailbox_id: int | None = None
    add_headers: tuple[tuple[str, str], ...] = ()
    remove_headers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.mailbox is not None:
            _check_text(self.mailbox, "mailbox")
        for keyword in self.keywords:
            if not _KEYWORD.match(keyword):
                raise ValueError(f"{keyword!r} is not a keyword")
        _check_header_edits(self.add_headers, self.remove_headers)


@final
@dataclass(frozen=True, slots=True)
class Verdict:
    """A stage hook's answer. Build it with the class methods.

    Args:
        action: accept, reject, tempfail or quarantine.
        code: the reply code for a reject (5xx) or tempfail (4xx); 0 otherwise.
        status: the enhanced status code (RFC 3463), e.g. ``"5.7.1"``.
        text: the reply text for a reject or tempfail; the reason of a quarantine.
        add_headers: ``(name, value)`` fields to add to the message (data and
            delivery stages; earlier stages' edits apply to the transaction's message).
        remove_headers: field names whose existing fields are removed (a
            "modify" is a remove plus an add). Trace fields cannot be removed.
        filings: for ``stalwart_before_delivery``: the copies to store (each a
            :class:`Filing`); None is no opinion (one copy in the default
            mailbox), ``()`` stores nothing (Sieve ``discard``: the delivery
            still succeeds).

    Raises:
        ValueError: an inconsistent verdict (see the module notes).
    """

    action: VerdictAction = VerdictAction.ACCEPT
    code: int = 0
    status: str = ""
    text: str = ""
    add_headers: tuple[tuple[str, str], ...] = ()
    remove_headers: tuple[str, ...] = ()
    filings: tuple[Filing, ...] | None = None

    def __post_init__(self) -> None:
        expected = {VerdictAction.REJECT: 5, VerdictAction.TEMPFAIL: 4}.get(self.action)
        if expected is not None:
            match = _STATUS.match(self.status)
            if self.code // 100 != expected or not 0 <= self.code % 100 <= 99:
                raise ValueError(f"a {self.action} needs a {expected}xx code, not {self.code}")
            if match is None or int(match.group(1)) != expected:
                raise ValueError(f"a {self.action} needs a {expected}.x.x status code")
        elif self.code or self.status:
            raise ValueError(f"a {self.action} verdict carries no reply code")
        _check_text(self.text, "verdict text")
        for name, value in self.add_headers:
            if not _FIELD_NAME.match(name):
                raise ValueError(f"{name!r} is not a header field name")
            _check_text(value, f"header {name}")
        for name in self.remove_headers:
            if not _FIELD_NAME.match(name):
                raise ValueError(f"{name!r} is not a header field name")
            if name.lower() in ("received", "return-path"):
                # RFC 5321 §4.4: trace fields must not be changed or deleted.
                raise ValueError(f"{name} fields cannot be removed")
        if self.filings is not None and self.refused:
            raise ValueError("a refusal stores no copies")

    @classmethod
    def accept(
        cls,
        *,
        add_headers: tuple[tuple[str, str], ...] = (),
        remove_headers: tuple[str, ...] = (),
        mailbox: str | None = None,
        filings: tuple[Filing, ...] | None = None,
    ) -> Verdict:
        """Accept, optionally editing headers or (at delivery) choosing the copies:
        ``mailbox`` is shorthand for one filing into that mailbox."""
        if mailbox is not None:
            filings = (Filing(mailbox), *(filings or ()))
        return cls(
            VerdictAction.ACCEPT,
            add_headers=tuple(add_headers),
            remove_headers=tuple(remove_headers),
            filings=filings,
        )

    @classmethod
    def discard(cls) -> Verdict:
        """At delivery: store no copy, and count the delivery as done (Sieve ``discard``)."""
        return cls(VerdictAction.ACCEPT, filings=())

    @classmethod
    def reject(cls, text: str, *, code: int = 550, status: str = "5.7.1") -> Verdict:
        """Refuse permanently with ``code status text`` (default ``550 5.7.1``)."""
        return cls(VerdictAction.REJECT, code=code, status=status, text=text)

    @classmethod
    def tempfail(cls, text: str, *, code: int = 451, status: str = "4.7.1") -> Verdict:
        """Refuse for now with ``code status text`` (default ``451 4.7.1``)."""
        return cls(VerdictAction.TEMPFAIL, code=code, status=status, text=text)

    @classmethod
    def quarantine(cls, reason: str, *, add_headers: tuple[tuple[str, str], ...] = ()) -> Verdict:
        """Accept, but file the message into the recipients' Junk mailbox."""
        return cls(VerdictAction.QUARANTINE, text=reason, add_headers=tuple(add_headers))

    @property
    def refused(self) -> bool:
        """True for a reject or a tempfail: the stage ends here."""
        return self.action in (VerdictAction.REJECT, VerdictAction.TEMPFAIL)


ACCEPTED = Verdict()


@final
@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What stage hooks know about the client's session.

    Args:
        id: the connection id (also on the protocol's log lines).
        protocol: ``smtp`` (later ``lmtp``, ``jmap``).
        listener: the listener's name.
        role: the listener's role (``mta``, ``submission``, ``submissions``) or None.
        remote: the client's ``(ip, port)``.
        local: this end's ``(ip, port)``.
        tls: the negotiated TLS parameters, or None.
        helo: the EHLO/HELO argument once given.
        account: the authenticated account's name, or None.
    """

    id: str
    protocol: str
    listener: str
    role: str | None
    remote: tuple[str, int]
    local: tuple[str, int]
    tls: TLSInfo | None = None
    helo: str | None = None
    account: str | None = None


@final
@dataclass(frozen=True, slots=True)
class Envelope:
    """A mail transaction's envelope as far as it got.

    Args:
        queue_id: the transaction's id (in logs and the Received field).
        sender: the reverse-path address; ``""`` for the null path ``<>``.
        recipients: the accepted forward-path addresses so far.
        parameters: the MAIL parameters, upper-cased keyword to value (None for
            a keyword without value).
    """

    queue_id: str
    sender: str
    recipients: tuple[str, ...] = ()
    parameters: Mapping[str, str | None] = field(default_factory=dict)


@final
@dataclass(frozen=True, slots=True)
class DeliveryTarget:
    """One local delivery about to happen.

    Args:
        recipient: the address the client gave (RCPT TO).
        account: the account it resolved to.
        account_id: that account's store id.
        mailbox: the mailbox it will go to unless a verdict says otherwise.
        original_recipient: the original recipient the client declared with
            ``ORCPT`` (RFC 3461 §4.2), xtext-decoded; None when it gave none or of
            an address type without a mail address (see :func:`original_address`).
    """

    recipient: str
    account: str
    account_id: int
    mailbox: str = "INBOX"
    original_recipient: str | None = None


# RFC 6533 §3: utf-8-addr-xtext / utf-8-addr-unitext escape characters as \x{HEX}.
_UTF8_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")


def original_address(addr_type: str, value: str) -> str | None:
    """The mail address of an ``ORCPT=addr-type;value`` (value already xtext-decoded).

    RFC 3461 §4.2: ``rfc822`` is a plain address; RFC 6533 §3: ``utf-8`` may escape
    characters as ``\\x{HEX}``. Other address types (``x400``, ...) name no mail
    address: None.
    """
    kind = addr_type.lower()
    if kind == "rfc822":
        return value
    if kind == "utf-8":
        points = [int(m.group(1), 16) for m in _UTF8_ESCAPE.finditer(value)]
        if any(p > 0x10FFFF or 0xD800 <= p <= 0xDFFF for p in points):
            return None  # not a Unicode scalar value
        return _UTF8_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    return None


def merge_verdicts(first: Verdict, second: Verdict) -> Verdict:
    """Combine two verdicts of one stage or transaction (header edits accumulate).

    A refusal wins; else a quarantine; the first verdict that chose filings
    (or a discard) decides the copies.
    """
    if first.refused:
        return first
    if second.refused:
        return second
    reasons = [v.text for v in (first, second) if v.action is VerdictAction.QUARANTINE]
    return Verdict(
        VerdictAction.QUARANTINE if reasons else VerdictAction.ACCEPT,
        text=next((reason for reason in reasons if reason), ""),
        add_headers=first.add_headers + second.add_headers,
        remove_headers=first.remove_headers
        + tuple(n for n in second.remove_headers if n not in first.remove_headers),
        filings=first.filings if first.filings is not None else second.filings,
    )


async def run_stage(caller: pluggy.HookCaller, **kwargs: Any) -> Verdict:
    """Run one pipeline stage: await every hook's callable in plugin order.

    Args:
        caller: ``kernel.pm.hook.stalwart_inbound_<stage>`` (or ``..._before_delivery``).
        kwargs: the hook's arguments.

    Returns:
        The first reject or tempfail (later callables are not awaited), else the
        merged accepts and quarantines (see :func:`merge_verdicts`).

    Raises:
        PluginError: a hook returned something that is not None or an async
            callable, or its callable answered something that is not a Verdict.
        Exception: whatever a hook's callable raised (the protocol answers with
            a temporary failure).
    """
    result = ACCEPTED
    for fn in caller(**kwargs):
        if fn is None:
            continue
        verdict = await _await_verdict(fn, caller.name)
        if verdict is None:
            continue
        result = merge_verdicts(result, verdict)
        if result.refused:
            return result
    return result


async def _await_verdict(fn: Callable[[], Any] | Any, hook: str) -> Verdict | None:
    owner = getattr(fn, "__module__", None) or type(fn).__module__
    if not callable(fn):
        raise PluginError(owner, f"{hook} must return an async callable or None, not {fn!r}")
    awaitable = fn()
    if not inspect.isawaitable(awaitable):
        raise PluginError(owner, f"{hook} returned {fn!r}, whose call did not give a coroutine")
    value = await awaitable
    if value is not None and not isinstance(value, Verdict):
        raise PluginError(owner, f"{hook} answered {value!r}; expected a Verdict or None")
    return value
