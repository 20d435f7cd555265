"""The RCPT stage: recipient policy (local recipients, and relaying for authenticated clients).

Checks, in order, each with its reply:

* more than ``smtp.max_recipients``: ``452 4.5.3`` (RFC 5321 §4.5.3.1.10);
* DSN parameters when DSN is off: ``555 5.5.4``;
* a UTF-8 address without ``SMTPUTF8`` on MAIL: ``553 5.6.7`` (RFC 6531 §3.5);
* a domain that is not local: ``554 5.7.1`` relaying denied for unauthenticated
  clients; for authenticated ones the recipient is accepted as remote (after
  the ``stalwart_inbound_rcpt`` hooks) and the message is queued for it at the
  end of DATA (RFC 6409 §3.3);
* an address the directory does not resolve (exact, alias, ``user+tag``,
  catch-all, ``postmaster``): ``550 5.1.1`` (a disabled account ``550 5.2.1``);
* quota (RFC 1870 §6.1): the declared SIZE alone over the quota ``552 5.2.2``;
  usage plus SIZE over it ``452 4.2.2``;
* then the ``stalwart_inbound_rcpt`` hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.pipeline import run_stage
from plugins.smtp.proto import codes
from plugins.smtp.proto.commands import Rcpt
from plugins.smtp.proto.responses import Reply
from plugins.smtp.stages.mail import unoffered_parameter
from plugins.smtp.transaction import Recipient, RemoteRecipient

if TYPE_CHECKING:
    from kernel.store import Principal
    from plugins.smtp.session import Session

__all__ = ["ascii_domain", "rcpt"]


def ascii_domain(domain: str) -> str | None:
    """The A-label form of ``domain`` for directory lookups (None if it has none)."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


async def _postmaster(session: Session) -> str | None:
    # RFC 5321 §4.5.1: "RCPT TO:<Postmaster>" means postmaster at this server's domain.
    directory = session.kernel.store.directory
    hostname = session.settings.hostname.lower()
    candidates = [hostname, hostname.partition(".")[2]]
    for domain in candidates:
        if domain and await directory.is_local_domain(domain):
            return f"postmaster@{domain}"
    domains = await directory.domains()
    return f"postmaster@{domains[0].name}" if domains else None


def _refuse(code: int, status: str, text: str) -> Reply:
    return Reply.of(code, status, text)


def _quota(principal: Principal, declared: int) -> Reply | None:
    if not principal.quota:
        return None
    if declared > principal.quota:
        return _refuse(
            codes.C552_STORAGE_EXCEEDED,
            codes.ES_5_2_2_MAILBOX_FULL,
            "message is larger than the recipient's quota",
        )
    if principal.used + max(declared, 1) > principal.quota:
        return _refuse(
            codes.C452_INSUFFICIENT_STORAGE,
            codes.ES_4_2_2_MAILBOX_FULL,
            "recipient's mailbox is full; try again later",
        )
    return None


async def _check(session: Session, cmd: Rcpt) -> tuple[Reply | None, str, Principal | None]:
    txn = session.txn
    assert txn is not None
    recipient = cmd.recipient
    if len(txn.recipients) + len(txn.remote) >= session.settings.max_recipients:
        return (
            _refuse(
                codes.C452_INSUFFICIENT_STORAGE,
                codes.ES_4_5_3_TOO_MANY_RECIPIENTS,
                "too many recipients",
            ),
            "",
            None,
        )
    unoffered = unoffered_parameter(session, {keyword for keyword, _ in cmd.params.raw})
    if unoffered is not None:
        return unoffered, "", None
    if recipient.utf8 and not txn.mail.params.smtputf8:
        return (
            _refuse(
                codes.C553_MAILBOX_NAME_NOT_ALLOWED,
                codes.ES_5_6_7_NON_ASCII_ADDRESS,
                "non-ASCII recipient address requires SMTPUTF8",
            ),
            "",
            None,
        )
    directory = session.kernel.store.directory
    address = str(recipient) if recipient.domain else await _postmaster(session)
    domain = ascii_domain(address.rpartition("@")[2]) if address else None
    principal: Principal | None = None
    local = False
    if address is not None and domain is not None and not recipient.is_literal:
        # One store read in the common case: an address that resolves is in a
        # local domain; only a miss asks whether the domain is local at all.
        principal = await session.kernel.store.directory.resolve_recipient(
            f"{address.rpartition('@')[0]}@{domain}"
        )
        local = principal is not None or await directory.is_local_domain(domain)
    if address is None or domain is None or not local:
        if session.account_id is not None and address and domain:
            # RFC 6409 §3.3 / RFC 5321 §3.6: an authenticated client may relay;
            # the message goes to the outbound queue at the end of DATA.
            return None, address, None
        if session.account_id is not None:
            reply = _refuse(
                codes.C550_MAILBOX_UNAVAILABLE, codes.ES_5_1_1_BAD_MAILBOX, "no such domain"
            )
        else:
            reply = _refuse(
                codes.C554_TRANSACTION_FAILED, codes.ES_5_7_1_NOT_AUTHORIZED, "relaying denied"
            )
        return reply, address or "", None
    if principal is None or principal.kind != "individual":
        reply = _refuse(codes.C550_MAILBOX_UNAVAILABLE, codes.ES_5_1_1_BAD_MAILBOX, "no such user")
        return reply, address, None
    if not principal.enabled:
        reply = _refuse(
            codes.C550_MAILBOX_UNAVAILABLE, codes.ES_5_2_1_MAILBOX_DISABLED, "mailbox disabled"
        )
        return reply, address, None
    return _quota(principal, txn.mail.params.size or 0), address, principal


async def _relay(session: Session, cmd: Rcpt, address: str) -> Reply:
    """Accept a remote recipient of an authenticated client (queued at the end of DATA)."""
    txn = session.txn
    assert txn is not None
    verdict = await run_stage(
        session.kernel.pm.hook.stalwart_inbound_rcpt,
        kernel=session.kernel,
        session=session.info,
        envelope=txn.envelope(),
        recipient=address,
    )
    if verdict.refused:
        txn.refused += 1
        return Reply.of(verdict.code, verdict.status, verdict.text)
    txn.add_verdict(verdict)
    if all(r.address != address for r in txn.remote):
        txn.remote.append(RemoteRecipient(address, cmd.params))
    return Reply.of(
        codes.C250_COMPLETED, codes.ES_2_1_5_DESTINATION_OK, f"recipient <{address}> OK (relay)"
    )


async def rcpt(session: Session, cmd: Rcpt) -> Reply:
    """RCPT TO: accept a local recipient or say why not."""
    txn = session.txn
    assert txn is not None
    reply, address, principal = await _check(session, cmd)
    if reply is None and principal is None:
        return await _relay(session, cmd, address)
    if reply is None and principal is not None:
        verdict = await run_stage(
            session.kernel.pm.hook.stalwart_inbound_rcpt,
            kernel=session.kernel,
            session=session.info,
            envelope=txn.envelope(),
            recipient=address,
        )
        if verdict.refused:
            reply = Reply.of(verdict.code, verdict.status, verdict.text)
        else:
            txn.add_verdict(verdict)
            txn.recipients.append(Recipient(address, principal.name, principal.id, cmd.params))
            return Reply.of(
                codes.C250_COMPLETED, codes.ES_2_1_5_DESTINATION_OK, f"recipient <{address}> OK"
            )
    assert reply is not None
    txn.refused += 1
    session.log.info(
        "smtp-rcpt-refused",
        queue=txn.queue_id,
        recipient=address or str(cmd.recipient),
        code=reply.code,
    )
    return reply
