"""A mail transaction in progress: the envelope, the accepted recipients, the pipeline's verdicts.

Created by an accepted MAIL, grown by each accepted RCPT, consumed by the end of
DATA (or BDAT LAST), dropped by RSET, EHLO or STARTTLS (RFC 5321 §3.3,
§4.1.1.5). The session holds at most one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import final

from kernel.pipeline import Envelope, Verdict, merge_verdicts
from plugins.smtp.proto.commands import Mail, RcptParams

__all__ = ["Recipient", "Transaction", "new_queue_id"]


def new_queue_id() -> str:
    """A fresh transaction id: 16 upper-case hex digits."""
    return secrets.token_hex(8).upper()


@final
@dataclass(frozen=True, slots=True)
class Recipient:
    """An accepted local recipient.

    Args:
        address: the forward-path as given (canonical form).
        account: the account it resolved to (aliases, subaddress, catch-all).
        account_id: that account's store id.
        params: the RCPT parameters (DSN's NOTIFY/ORCPT, kept for notifications).
    """

    address: str
    account: str
    account_id: int
    params: RcptParams


@final
@dataclass(slots=True)
class Transaction:
    """The state of one mail transaction."""

    queue_id: str
    sender: str
    mail: Mail
    recipients: list[Recipient] = field(default_factory=list)
    #: The merged verdicts of the MAIL, RCPT and DATA stages (header edits, quarantine).
    verdict: Verdict = field(default_factory=Verdict)
    #: RCPT commands refused so far (for the log line at the end).
    refused: int = 0

    def envelope(self) -> Envelope:
        """The envelope as the pipeline hooks see it."""
        return Envelope(
            queue_id=self.queue_id,
            sender=self.sender,
            recipients=tuple(r.address for r in self.recipients),
            parameters=dict(self.mail.params.raw),
        )

    def add_verdict(self, verdict: Verdict) -> None:
        """Keep an accepting verdict's header edits and quarantine for delivery."""
        self.verdict = merge_verdicts(self.verdict, verdict)
