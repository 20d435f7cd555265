"""A mail transaction in progress: the envelope, the accepted recipients, the pipeline's verdicts.

Created by an accepted MAIL, grown by each accepted RCPT, consumed by the end of
DATA (or BDAT LAST), dropped by RSET, EHLO or STARTTLS (RFC 5321 §3.3,
§4.1.1.5). The session holds at most one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import final

from kernel.pipeline import ACCEPTED, Envelope, Verdict, merge_verdicts
from plugins.smtp.proto.commands import Mail, RcptParams

__all__ = ["Recipient", "RemoteRecipient", "Transaction", "combine", "new_queue_id"]


def combine(first: Verdict, second: Verdict) -> Verdict:
    """:func:`~kernel.pipeline.merge_verdicts`, but a plain accept (what a stage
    without hooks answers) adds nothing, so no new verdict is built for it."""
    if second is ACCEPTED or second == ACCEPTED:
        return first
    if first is ACCEPTED or first == ACCEPTED:
        return second
    return merge_verdicts(first, second)


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
@dataclass(frozen=True, slots=True)
class RemoteRecipient:
    """An accepted recipient in a domain that is not local (relayed through the queue)."""

    address: str
    params: RcptParams

    @property
    def notify(self) -> str | None:
        """NOTIFY as stored in the queue (RFC 3461 §4.1), e.g. ``FAILURE,DELAY``."""
        return ",".join(sorted(self.params.notify)) if self.params.notify else None

    @property
    def orcpt(self) -> str | None:
        """ORCPT as stored in the queue, ``type;address`` (RFC 3461 §4.2)."""
        return f"{self.params.orcpt[0]};{self.params.orcpt[1]}" if self.params.orcpt else None


@final
@dataclass(slots=True)
class Transaction:
    """The state of one mail transaction."""

    queue_id: str
    sender: str
    mail: Mail
    recipients: list[Recipient] = field(default_factory=list)
    #: Accepted remote recipients (authenticated relaying), queued at the end of DATA.
    remote: list[RemoteRecipient] = field(default_factory=list)
    #: The merged verdicts of the MAIL, RCPT and DATA stages (header edits, quarantine).
    verdict: Verdict = field(default_factory=Verdict)
    #: RCPT commands refused so far (for the log line at the end).
    refused: int = 0

    def envelope(self) -> Envelope:
        """The envelope as the pipeline hooks see it."""
        return Envelope(
            queue_id=self.queue_id,
            sender=self.sender,
            recipients=tuple(r.address for r in self.recipients)
            + tuple(r.address for r in self.remote),
            parameters=dict(self.mail.params.raw),
        )

    def add_verdict(self, verdict: Verdict) -> None:
        """Keep an accepting verdict's header edits and quarantine for delivery."""
        self.verdict = combine(self.verdict, verdict)
