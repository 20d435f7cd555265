"""How an op says a command failed: :class:`CommandFailed`, turned into the tagged reply.

Ops return :class:`Done` on success or raise it with the status word and response code from
:mod:`plugins.imap.proto.codes`; the dispatcher (:mod:`plugins.imap.dispatch`) writes
``tag NO [CODE] text`` or ``tag BAD ...``. Store errors are translated in the ops,
where the meaning is known (STYLE.md §1.6); :func:`store_failure` gives the usual
translation of the store's error tree (RFC 5530 codes, RFC 9051 §7.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, final

from kernel.errors import DuplicateUid, NoSuchItem, PreconditionFailed, QuotaExceeded, StoreError
from plugins.imap.proto import codes

__all__ = ["CommandFailed", "Done", "bad", "no", "store_failure"]


@final
class CommandFailed(Exception):
    """The command ends with ``NO`` or ``BAD`` (RFC 9051 §7.1.2, §7.1.3).

    Attributes:
        status: ``NO`` or ``BAD``.
        text: the human-readable text.
        code: the response code with its arguments (``b"TRYCREATE"``), or None.
    """

    def __init__(self, status: Literal["NO", "BAD"], text: str, code: bytes | None = None) -> None:
        super().__init__(text)
        self.status: Literal["NO", "BAD"] = status
        self.text = text
        self.code = code


def no(text: str, code: str | None = None) -> CommandFailed:
    """A ``NO [code] text`` failure (``code`` from :mod:`plugins.imap.proto.codes`)."""
    return CommandFailed("NO", text, code.encode("ascii") if code else None)


def bad(text: str, code: str | None = None) -> CommandFailed:
    """A ``BAD [code] text`` failure."""
    return CommandFailed("BAD", text, code.encode("ascii") if code else None)


def store_failure(exc: StoreError) -> CommandFailed:
    """The usual ``NO`` for a store error (RFC 5530 response codes)."""
    if isinstance(exc, QuotaExceeded):
        return no("Quota exceeded", codes.OVERQUOTA)
    if isinstance(exc, NoSuchItem):
        return no("No such mailbox or message", codes.NONEXISTENT)
    if isinstance(exc, DuplicateUid):
        return no("Already exists", codes.ALREADYEXISTS)
    if isinstance(exc, PreconditionFailed):
        return no("Not possible", codes.CANNOT)
    return no("Temporary failure, try again", codes.UNAVAILABLE)


@final
@dataclass(frozen=True, slots=True)
class Done:
    """A command that completed: ``tag OK [code] text`` (RFC 9051 §7.1.1)."""

    text: str = "completed"
    code: bytes | None = None
