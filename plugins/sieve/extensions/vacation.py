"""The vacation extension (RFC 5230) with vacation-seconds (RFC 6131), and the reply.

``vacation`` adds a :class:`~plugins.sieve.actions.Vacation` action; when the host
carries it out it calls :func:`vacation_reply`, which decides whether a reply is due and
composes it, and checks its own response tracking (RFC 5230 §4.2) with the action's
``handle`` and ``period``.

Implementation notes:

- Period: ``:days`` (RFC 5230 §4.1) or ``:seconds`` (RFC 6131 §2), bounded by the
  configured minimum and maximum; the default is ``Settings.vacation_default_period``.
- Without ``:handle`` the handle is derived from the reason, subject, from and mime
  arguments (RFC 5230 §4.2: scripts with different texts get separate tracking).
- No reply (RFC 5230 §4.5, §4.6): to the null sender, to the user's own addresses, to
  mail that is auto-submitted, bulk or list mail (``Precedence``, ``List-*``), that
  asks for none (``X-Auto-Response-Suppress: All/OOF``), from system addresses
  (``MAILER-DAEMON``, ``LISTSERV``, ``majordomo``, ``owner-*``, ``*-request``), or that
  is not addressed to the user in To/Cc/Bcc/Resent-To/Resent-Cc (unless
  ``vacation_dont_check_recipient``). The address found there is the reply's From
  unless ``:from`` is given.
- The reply (RFC 5230 §5): MAIL FROM null (or the recipient when configured), To the
  envelope sender with the display name the header gave it, ``Auto-Submitted:
  auto-replied`` (§5.6), ``In-Reply-To`` and ``References`` (§5.8), the subject from
  ``:subject`` or the configured template, cut to a number of code points with "…".
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import TYPE_CHECKING

from kernel.mail import Address, Group, parse_address_list, parse_message_ids
from plugins.sieve.actions import Vacation
from plugins.sieve.addresses import normalize_addr_spec
from plugins.sieve.compiled import Node
from plugins.sieve.compose import OutgoingMessage, auto_submitted
from plugins.sieve.extensions.fcc import FCC_TAGS, fcc_of, validate_fcc
from plugins.sieve.headers import encode_header_value, fold_field
from plugins.sieve.spec import ArgKind, Extension, Spec, TagSpec

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.host import Envelope
    from plugins.sieve.interpreter import Run
    from plugins.sieve.message import MessageView
    from plugins.sieve.settings import Settings

__all__ = ["EXTENSIONS", "vacation_reply"]

_EOL = "\r\n"
_DAY = 86400
_SYSTEM_LOCALPARTS = frozenset({"mailer-daemon", "listserv", "majordomo"})
_LIST_FIELDS = (
    "list-id",
    "list-owner",
    "list-subscribe",
    "list-post",
    "list-unsubscribe",
    "list-help",
    "list-archive",
)
_RECIPIENT_FIELDS = ("to", "cc", "bcc", "resent-to", "resent-cc")
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+")


def _validate(ctx: CompileContext, node: Node) -> None:
    sender = node.tag("from")
    if isinstance(sender, str) and ctx.constant(sender) and normalize_addr_spec(sender) is None:
        ctx.error(node, f"invalid :from address '{sender}' for vacation")
    addresses = node.tag("addresses")
    for address in addresses if isinstance(addresses, tuple) else ():
        if ctx.constant(address) and normalize_addr_spec(address) is None:
            ctx.error(node, f"invalid :addresses entry '{address}' for vacation")
    validate_fcc(ctx, node)


def _vacation(run: Run, node: Node) -> None:
    settings = run.settings
    reason = run.string(node.args[0])
    subject = run.string(node.tag("subject")) if node.has("subject") else None
    sender = run.string(node.tag("from")) if node.has("from") else None
    addresses = tuple(run.strings(node.tag("addresses"))) if node.has("addresses") else ()
    seconds, days = node.tag("seconds"), node.tag("days")
    if isinstance(seconds, int):
        period = seconds
    elif isinstance(days, int):
        period = days * _DAY
    else:
        period = settings.vacation_default_period
    period = max(settings.vacation_min_period, min(period, settings.vacation_max_period))
    if node.has("handle"):
        handle = run.string(node.tag("handle"))
    else:
        basis = "\0".join((reason, subject or "", sender or "", str(node.has("mime"))))
        handle = hashlib.sha256(basis.encode("utf-8", "surrogateescape")).hexdigest()
    fcc = fcc_of(run, node)  # RFC 8580 §5
    action = Vacation(reason, subject, sender, addresses, node.has("mime"), handle, period, fcc)
    run.add_action(action, node)


def _header(name: str, value: str) -> str:
    return fold_field(name, encode_header_value(value), _EOL)


def _display(address: Address) -> str:
    if not address.name:
        return f"<{address.email}>"
    name = address.name
    if not all(_ATEXT.fullmatch(word) for word in name.split(" ")):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif " " in name:
        name = f'"{name}"'
    return f"{name} <{address.email}>"


def _mailboxes(message: MessageView, names: tuple[str, ...]) -> list[Address]:
    found: list[Address] = []
    for name in names:
        for value in message.raw_values(name):
            for item in parse_address_list(value):
                found.extend(item.addresses if isinstance(item, Group) else (item,))
    return found


def _system_sender(sender: str) -> bool:
    local = sender.rpartition("@")[0].lower() or sender.lower()
    return (
        local in _SYSTEM_LOCALPARTS
        or local.startswith("owner-")
        or local.endswith("-request")
        or local.endswith("-owner")
    )


def _suppressed(message: MessageView) -> bool:
    if auto_submitted(message):
        return True
    if any(v.strip().lower() in ("bulk", "list", "junk") for v in message.values("precedence")):
        return True
    if any(message.has(name) for name in _LIST_FIELDS):
        return True
    for value in message.values("x-auto-response-suppress"):
        words = {w.strip().lower() for w in value.split(",")}
        if words & {"all", "oof"}:
            return True
    return False


def _subject(action: Vacation, message: MessageView, settings: Settings) -> str:
    if action.subject is not None:
        subject = action.subject
    else:
        subjects = message.values("subject")
        original = subjects[0] if subjects else ""
        if original:
            template = settings.vacation_subject_template or "Auto: %$"
            subject = template.replace("%{subject}", original).replace("%$", original)
        else:
            subject = settings.vacation_default_subject or "Automated reply"
    limit = settings.vacation_max_subject_codepoints
    if limit > 0 and len(subject) > limit:
        subject = subject[:limit] + "\u2026"
    return subject


def vacation_reply(
    action: Vacation,
    envelope: Envelope,
    message: MessageView,
    settings: Settings,
    now: datetime,
    message_id: str,
) -> OutgoingMessage | None:
    """The reply ``action`` calls for, or ``None`` when no reply is due (RFC 5230 §4.5,
    §4.6). Response tracking (§4.2) is left to the caller.
    """
    sender = envelope.mail_from
    if not sender:
        return None
    own = [envelope.rcpt_to, *action.addresses]
    if settings.user_email:
        own.append(settings.user_email)
    if settings.vacation_use_original_recipient and envelope.orig_rcpt:
        own.append(envelope.orig_rcpt)
    own_lower = {a.strip("<> ").lower() for a in own if a}
    if sender.lower() in own_lower or _system_sender(sender) or _suppressed(message):
        return None
    addressed = [a for a in _mailboxes(message, _RECIPIENT_FIELDS) if a.email.lower() in own_lower]
    if not addressed and not settings.vacation_dont_check_recipient:
        return None
    if action.from_address is not None:
        from_header = action.from_address
    elif addressed:
        from_header = addressed[0].email
    else:
        from_header = settings.user_email or envelope.rcpt_to
    if settings.vacation_to_header_ignore_envelope:
        candidates = _mailboxes(message, ("sender", "resent-from", "from"))
        to_header = _display(candidates[0]) if candidates else f"<{sender}>"
    else:
        matching = [
            a
            for a in _mailboxes(message, ("sender", "resent-from", "from", "reply-to"))
            if a.email.lower() == sender.lower()
        ]
        to_header = _display(matching[0]) if matching else f"<{sender}>"
    head = _header("From", from_header) + _header("To", to_header)
    head += _header("Subject", _subject(action, message, settings))
    original_ids = parse_message_ids(" ".join(message.raw_values("message-id")))
    if original_ids:
        references = parse_message_ids(" ".join(message.raw_values("references")))
        head += _header("In-Reply-To", f"<{original_ids[0]}>")
        head += _header("References", " ".join(f"<{i}>" for i in [*references, original_ids[0]]))
    from email.utils import format_datetime

    head += _header("Date", format_datetime(now)) + _header("Message-ID", f"<{message_id}>")
    head += _header("Auto-Submitted", "auto-replied (vacation)")
    head += _header("Precedence", "bulk") + _header("MIME-Version", "1.0")
    reason = action.reason.replace("\r\n", "\n").replace("\n", _EOL)
    if action.mime:
        text = head + reason
    else:
        text = head + _header("Content-Type", "text/plain; charset=utf-8")
        text += _header("Content-Transfer-Encoding", "8bit") + _EOL + reason + _EOL
    mail_from = envelope.rcpt_to if settings.vacation_send_from_recipient else ""
    return OutgoingMessage(mail_from, (sender,), text.encode("utf-8", "surrogateescape"))


EXTENSIONS = (
    Extension(
        name="vacation",
        capabilities=("vacation", "vacation-seconds"),
        specs=(
            Spec(
                "vacation",
                requires="vacation",
                positional=(ArgKind.STRING,),
                tags=(
                    TagSpec("days", ArgKind.NUMBER, group="period"),
                    TagSpec("seconds", ArgKind.NUMBER, group="period", requires="vacation-seconds"),
                    TagSpec("subject", ArgKind.STRING),
                    TagSpec("from", ArgKind.STRING),
                    TagSpec("addresses", ArgKind.STRING_LIST),
                    TagSpec("mime"),
                    TagSpec("handle", ArgKind.STRING),
                    *FCC_TAGS,
                ),
                validate=_validate,
            ),
        ),
        commands={"vacation": _vacation},
        # RFC 6131 §2: "vacation-seconds" implies "vacation".
        implies={"vacation-seconds": ("vacation",)},
    ),
)
