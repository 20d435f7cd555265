"""The JMAP VacationResponse (RFC 8621 §8) carried out at local delivery.

When the recipient's VacationResponse (:attr:`kernel.store.vacation`) is
enabled and the delivery time is within ``[fromDate, toDate)``, a reply is sent
exactly as a Sieve ``vacation`` action would send it: the action is built here
and handed to :func:`plugins.sieve.outbound.send_actions`, so RFC 5230 applies
unchanged (§4.5/§4.6: no reply to the null sender, mailing lists, bulk or
auto-submitted mail, the user's own addresses, or mail not addressed to the
user; §4.2: one reply per sender per period, tracked with
``kernel.store.sieve.track`` kind ``vacation``; the reply goes through the
outbound queue ``kernel.store.queue``).

Implementation notes:

* The period is the ``sieve.vacation.default_period`` (7 days by default).
* The tracking handle is derived from the subject and bodies, so an edited
  response is sent again to senders who got the old one (RFC 5230 §4.2 does the
  same for a script without ``:handle``).
* ``subject`` null: the reply's subject is ``Auto: `` and the original's
  (RFC 5230 §4.6 default). ``htmlBody`` set: a ``multipart/alternative`` reply
  with the text part (``textBody``, or the HTML stripped of tags when null).
* This runs independently of the user's active Sieve script: a script with
  its own ``vacation`` action may send a second reply (with its own handle).
* It never fails a delivery: any error is logged (``vacation-response-failed``).
"""

from __future__ import annotations

import hashlib
import html
import re
import time
import uuid
from typing import TYPE_CHECKING, Final

from plugins.sieve.actions import Vacation
from plugins.sieve.host import Envelope as SieveEnvelope
from plugins.sieve.outbound import send_actions

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.pipeline import DeliveryTarget, Envelope, SessionInfo
    from kernel.store.vacation import VacationResponse
    from plugins.sieve.config import SieveConfig

__all__ = ["reply_action", "respond_if_away"]

_TAG: Final = re.compile(r"<[^>]*>")
_HANDLE_PREFIX: Final = "jmap-vacation-response:"


def _strip_html(markup: str) -> str:
    return html.unescape(_TAG.sub("", markup)).strip()


def reply_action(response: VacationResponse, period: int) -> Vacation:
    """The Sieve ``vacation`` action equivalent to ``response``."""
    text = response.text_body
    if text is None:
        text = _strip_html(response.html_body) if response.html_body is not None else ""
    digest = hashlib.sha256(
        "\0".join((response.subject or "", text, response.html_body or "")).encode()
    ).hexdigest()[:32]
    handle = _HANDLE_PREFIX + digest
    if response.html_body is None:
        return Vacation(reason=text, subject=response.subject, handle=handle, period=period)
    boundary = f"=_{uuid.uuid4().hex}"
    reason = (
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
        f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{response.html_body}\r\n"
        f"--{boundary}--\r\n"
    )
    return Vacation(
        reason=reason, subject=response.subject, mime=True, handle=handle, period=period
    )


async def respond_if_away(
    kernel: Kernel,
    session: SessionInfo,
    envelope: Envelope,
    delivery: DeliveryTarget,
    message: bytes,
    conf: SieveConfig,
    *,
    now: float | None = None,
) -> bool:
    """Send the recipient's vacation reply if one is due; whether one was considered.

    Returns True when the response was active (a reply was queued, or RFC 5230
    decided none was due), False when it was disabled or outside its dates.
    """
    store = getattr(kernel.store, "vacation", None)
    if store is None:
        return False
    log = kernel.logger("sieve", queue=envelope.queue_id, account=delivery.account)
    sieve_envelope = SieveEnvelope(
        envelope.sender, delivery.recipient, delivery.original_recipient, session.account
    )
    try:
        response = await store.get(delivery.account_id)
        if not response.active_at(time.time() if now is None else now):
            return False
        action = reply_action(response, conf.vacation_default_period)
        listed = await kernel.store.directory.aliases(delivery.account)
        aliases = [address for address, _ in listed if not address.startswith("@")]
        problems, _ = await send_actions(
            kernel,
            account=delivery.account_id,
            actions=[action],
            messages=[None],
            original=message,
            envelope=sieve_envelope,
            settings=conf.settings(user_email=delivery.account),
            conf=conf,
            log=log,
            aliases=aliases,
        )
        for problem in problems:
            log.warning("vacation-response-failed", problem=problem)
        return True
    except Exception:  # never fail a delivery over an auto-reply
        log.exception("vacation-response-failed")
        return False
