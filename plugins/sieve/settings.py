"""Policy settings of the Sieve interpreter and of the messages its actions generate.

Limits that keep a run safe are in :mod:`plugins.sieve.limits`; these are the choices a
server administrator makes (the subaddress separator, how spam scores are read, which
headers ``editheader`` may touch, vacation reply defaults). The defaults follow the
RFCs and, where they leave a choice, Pigeonhole's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import final

__all__ = ["ScoreSource", "Settings"]


@final
@dataclass(frozen=True, slots=True)
class ScoreSource:
    """Where spamtest/virustest read their verdict (RFC 5235 §3 leaves it to the server).

    Attributes:
        status_type: ``score`` (a number), ``strlen`` (the length of a run of one
            character, such as ``*****``) or ``text`` (compared with ``text_values``).
        status_header: ``Header-Name`` or ``Header-Name: regex`` whose first group is
            the value.
        max_value: the score that maps to the top of the scale.
        max_header: a header (same syntax) that gives the maximum instead.
        text_values: for ``text``: the header text of value 1, 2, ... (``None`` unset).
    """

    status_type: str = "score"
    status_header: str = ""
    max_value: float | None = None
    max_header: str | None = None
    text_values: tuple[str | None, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class Settings:
    """Interpreter and action-generation policy.

    Attributes:
        recipient_delimiter: the characters that separate user and detail
            (RFC 5233 §4); the first occurrence of any of them splits.
        max_variable_size: longest variable value in bytes (0: use the limit).
        editheader_protected: field names that may be neither added nor deleted.
        editheader_forbid_add: field names that may not be added.
        editheader_forbid_delete: field names that may not be deleted.
        spamtest: where spamtest reads its score (``None``: not configured).
        virustest: where virustest reads its verdict.
        vacation_min_period, vacation_max_period, vacation_default_period: bounds and
            default of the vacation response interval, in seconds (RFC 5230 §4.1).
        notify_methods: the enotify URI schemes supported (RFC 5435 §3.8).
        user_email: the user's own address (vacation, redirect envelope, notify).
        postmaster: the address generated messages come from.
        redirect_envelope_from: MAIL FROM of redirected copies: ``sender``,
            ``recipient``, ``orig_recipient``, ``user_email``, ``postmaster`` or
            ``<address>``.
        redirect_loop_header: field added to redirected copies to detect mail loops
            (``None``: none added, no loop check).
        notify_envelope_from: MAIL FROM of mailto notifications (same forms; empty:
            the notify ``:from`` address, else the postmaster).
        vacation_default_subject: reply subject when the original has none.
        vacation_subject_template: reply subject from the original; ``%$`` or
            ``%{subject}`` is the original subject.
        vacation_max_subject_codepoints: longest generated subject.
        vacation_send_from_recipient: the reply's MAIL FROM is the recipient, not ``<>``.
        vacation_to_header_ignore_envelope: the reply's To is taken from the headers.
        vacation_use_original_recipient: the original recipient counts as the user's.
        vacation_dont_check_recipient: skip the "is it addressed to me" check.
    """

    recipient_delimiter: str = "+"
    max_variable_size: int = 0
    editheader_protected: frozenset[str] = frozenset()
    editheader_forbid_add: frozenset[str] = frozenset()
    editheader_forbid_delete: frozenset[str] = frozenset()
    spamtest: ScoreSource | None = None
    virustest: ScoreSource | None = None
    vacation_min_period: int = 86400
    vacation_max_period: int = 90 * 86400
    vacation_default_period: int = 7 * 86400
    notify_methods: frozenset[str] = field(default_factory=lambda: frozenset({"mailto"}))
    user_email: str | None = None
    postmaster: str = "postmaster@localhost"
    redirect_envelope_from: str = "sender"
    redirect_loop_header: str | None = "X-Sieve-Redirected-From"
    notify_envelope_from: str = ""
    vacation_default_subject: str = "Automated reply"
    vacation_subject_template: str = "Auto: %$"
    vacation_max_subject_codepoints: int = 256
    vacation_send_from_recipient: bool = False
    vacation_to_header_ignore_envelope: bool = False
    vacation_use_original_recipient: bool = False
    vacation_dont_check_recipient: bool = False
