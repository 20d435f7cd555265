"""JMAP state strings (RFC 8620 §1.2 "state", §5.1) from the account's change log.

Every data type's state is the account's modseq: one commit bumps it once,
whatever it touched. A state may then change although nothing of a given type
did; RFC 8620 §5.2 allows that (the client's /changes call returns empty lists).
The same holds for query states (§5.5 ``queryState``).

A state string is ``s`` plus the modseq in decimal; :func:`parse_state` is
total, returning ``None`` for anything else (the caller answers
``cannotCalculateChanges``, or ``stateMismatch`` for ``ifInState``).

A /changes page that must stop inside one transaction (``maxChanges`` smaller
than what one commit changed) answers ``s<modseq>:<k>``: every change before
``modseq`` plus the first ``k`` entries of it (:func:`position_string`,
:func:`parse_position`). Such a state is only ever a ``newState`` of /changes.
"""

from __future__ import annotations

import re

__all__ = ["parse_position", "parse_state", "position_string", "state_string"]

_STATE = re.compile(r"^s(0|[1-9][0-9]{0,18})$")
_POSITION = re.compile(r"^s([1-9][0-9]{0,18}):([1-9][0-9]{0,9})$")


def state_string(modseq: int) -> str:
    """The state string for change-log position ``modseq``."""
    return f"s{modseq}"


def parse_state(value: object) -> int | None:
    """The modseq a state string stands for, or ``None`` when it is not one of ours."""
    if not isinstance(value, str):
        return None
    match = _STATE.match(value)
    return int(match.group(1)) if match else None


def position_string(modseq: int, partial: int = 0) -> str:
    """The state of a /changes page: a plain state, or ``s<modseq>:<partial>``."""
    return f"s{modseq}:{partial}" if partial else state_string(modseq)


def parse_position(value: object) -> tuple[int, int] | None:
    """``(since, skip)`` for the store's ``changes_page`` from a state string, or ``None``."""
    plain = parse_state(value)
    if plain is not None:
        return plain, 0
    if not isinstance(value, str):
        return None
    match = _POSITION.match(value)
    return (int(match.group(1)) - 1, int(match.group(2))) if match else None
