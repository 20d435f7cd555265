"""The actions a rule module returns, as frozen records, and their printable form.

Each record is one call of the guest's ``action`` import that the host accepted
(:mod:`plugins.wasm.calls` checks the arguments). The same set as Sieve's, plus
``score`` and ``tempfail``; :func:`describe` gives the action lines the CLI
prints (``fileinto "Lists" :create :flags "$seen"``) and the golden tests compare.

Implementation notes:

* Flags are stored as store keywords (``$seen``), converted from IMAP flags by
  :func:`kernel.store.keywords.flag_to_keyword` when the guest hands them over.
* Which actions a stage allows is :data:`STAGE_ACTIONS`; the host answers
  ``WRONG_STAGE`` to the others, so they never reach a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, final

from kernel.rules import quote
from plugins.wasm.abi import ActionKind

__all__ = [
    "STAGE_ACTIONS",
    "Action",
    "AddFlags",
    "AddHeader",
    "DeleteHeader",
    "Discard",
    "FileInto",
    "Keep",
    "Redirect",
    "Reject",
    "RemoveFlags",
    "Score",
    "SetFlags",
    "Tempfail",
    "describe",
]


def _flags(keywords: tuple[str, ...]) -> str:
    return quote(" ".join(keywords))


@final
@dataclass(frozen=True, slots=True)
class Keep:
    """RFC 5228 §4.3: store in the default mailbox (with the current flags)."""

    def line(self) -> str:
        return "keep"


@final
@dataclass(frozen=True, slots=True)
class FileInto:
    """RFC 5228 §4.1 ``fileinto``; ``create`` is RFC 5490 §3.2, ``flags`` RFC 5232 §5.

    ``flags`` None means "the current flags" (those set, added and removed so far).
    """

    mailbox: str
    create: bool = False
    flags: tuple[str, ...] | None = None

    def line(self) -> str:
        out = f"fileinto {quote(self.mailbox)}"
        if self.create:
            out += " :create"
        if self.flags is not None:
            out += f" :flags {_flags(self.flags)}"
        return out


@final
@dataclass(frozen=True, slots=True)
class Discard:
    """RFC 5228 §4.4: cancel the implicit keep."""

    def line(self) -> str:
        return "discard"


@final
@dataclass(frozen=True, slots=True)
class Reject:
    """RFC 5429 §2.2, given at SMTP time: refuse with a 5xx reply."""

    code: int
    status: str
    text: str

    def line(self) -> str:
        return f"reject {self.code} {self.status} {quote(self.text)}"


@final
@dataclass(frozen=True, slots=True)
class Tempfail:
    """Refuse for now with a 4xx reply (the client retries)."""

    code: int
    status: str
    text: str

    def line(self) -> str:
        return f"tempfail {self.code} {self.status} {quote(self.text)}"


@final
@dataclass(frozen=True, slots=True)
class Redirect:
    """RFC 5228 §4.2 ``redirect`` (``copy``: RFC 3894). Recorded; the queue sends it."""

    address: str
    copy: bool = False

    def line(self) -> str:
        return f"redirect {quote(self.address)}" + (" :copy" if self.copy else "")


@final
@dataclass(frozen=True, slots=True)
class AddHeader:
    """RFC 5293 §4 ``addheader`` (added on top of the header, as trace fields are)."""

    name: str
    value: str

    def line(self) -> str:
        return f"addheader {quote(self.name)} {quote(self.value)}"


@final
@dataclass(frozen=True, slots=True)
class DeleteHeader:
    """RFC 5293 §5 ``deleteheader`` (every field of that name)."""

    name: str

    def line(self) -> str:
        return f"deleteheader {quote(self.name)}"


@final
@dataclass(frozen=True, slots=True)
class SetFlags:
    """RFC 5232 §3.1 ``setflag``: replace the current flags."""

    flags: tuple[str, ...]

    def line(self) -> str:
        return f"setflag {_flags(self.flags)}"


@final
@dataclass(frozen=True, slots=True)
class AddFlags:
    """RFC 5232 §3.2 ``addflag``."""

    flags: tuple[str, ...]

    def line(self) -> str:
        return f"addflag {_flags(self.flags)}"


@final
@dataclass(frozen=True, slots=True)
class RemoveFlags:
    """RFC 5232 §3.3 ``removeflag``."""

    flags: tuple[str, ...]

    def line(self) -> str:
        return f"removeflag {_flags(self.flags)}"


@final
@dataclass(frozen=True, slots=True)
class Score:
    """Points added to the module's score header (no Sieve equivalent)."""

    points: int

    def line(self) -> str:
        return f"score {self.points}"


Action = (
    Keep
    | FileInto
    | Discard
    | Reject
    | Tempfail
    | Redirect
    | AddHeader
    | DeleteHeader
    | SetFlags
    | AddFlags
    | RemoveFlags
    | Score
)

_EVERYWHERE = frozenset(
    {
        ActionKind.KEEP,
        ActionKind.REJECT,
        ActionKind.TEMPFAIL,
        ActionKind.ADD_HEADER,
        ActionKind.DELETE_HEADER,
        ActionKind.SCORE,
    }
)
#: Action kinds each stage accepts (filing and flags only make sense per copy).
STAGE_ACTIONS: Final = {
    "connect": _EVERYWHERE,
    "ehlo": _EVERYWHERE,
    "mail": _EVERYWHERE,
    "rcpt": _EVERYWHERE,
    "data": _EVERYWHERE,
    "delivery": frozenset(ActionKind),
}


def describe(actions: list[Action] | tuple[Action, ...]) -> list[str]:
    """The action lines of ``actions``, in order (scores summed into one last line)."""
    lines = [action.line() for action in actions if not isinstance(action, Score)]
    points = [action.points for action in actions if isinstance(action, Score)]
    if points:
        lines.append(Score(sum(points)).line())
    return lines
