"""Sieve actions as pipeline verdicts: copies (filings), refusals and header edits.

Pure functions: :mod:`plugins.sieve.delivery` and :mod:`plugins.sieve.system` call
them with an interpreter :class:`~plugins.sieve.interpreter.Outcome` and get back the
parts of a :class:`~kernel.pipeline.Verdict`.

Implementation notes:

- Flags (RFC 5232) become store keywords through
  :func:`kernel.store.keywords.flag_to_keyword`; a flag that cannot be stored
  (``\\Recent``, or not an IMAP atom) is dropped and reported.
- ``fileinto :specialuse "\\Junk"`` is the store role ``junk`` (RFC 8579 §4);
  ``:mailboxid`` takes the MAILBOXID form (RFC 9042 §3).
- editheader (RFC 5293) edits are the difference between the message's header before
  and after the run, per field name: fields only added become additions; any other
  change removes every field of that name and adds the edited ones back. The
  pipeline adds fields at the top of the header (where ``addheader`` puts them
  by default, RFC 5293 §4), so ``addheader :last`` fields end up at the top too, and
  a re-added field moves up with them.
- Each copy is stored with the header as it was when the copy was asked for (RFC
  5293 §7: actions that store the message use "the current set of header
  fields"); the implicit keep with the header at the end of the run (§7). When
  every copy has the same edits they are the verdict's (``add_headers``,
  ``remove_headers``); otherwise each :class:`~kernel.pipeline.Filing` carries
  its own (:func:`per_copy`), and the delivery stores those copies as separate
  messages.
- Reply texts (reject reasons) are one line of printable ASCII, at most
  :data:`MAX_REPLY_TEXT` characters (SMTP replies are ASCII without SMTPUTF8).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Final

from kernel.mail.headers import parse_header_block, unfold
from kernel.pipeline import Filing
from kernel.store.keywords import flag_to_keyword
from plugins.sieve.actions import FileInto, Keep
from plugins.sieve.store_host import parse_mailbox_id

__all__ = [
    "MAX_REPLY_TEXT",
    "filing_for",
    "header_edits",
    "keywords",
    "per_copy",
    "reply_text",
]

MAX_REPLY_TEXT: Final = 300
_MAX_HEADER_TEXT: Final = 400
# RFC 8621 §4.1.1 keywords are IMAP atoms (the pipeline checks the same).
_KEYWORD: Final = re.compile(r'^[^(){ %*"\\\]\x00-\x1f\x7f-\U0010ffff]{1,255}$')
_PROTECTED: Final = frozenset({"received", "return-path"})

Report = Callable[[str], None]
Edits = tuple[tuple[tuple[str, str], ...], tuple[str, ...]]


def keywords(flags: Iterable[str] | None, report: Report) -> tuple[str, ...]:
    """The store keywords of IMAP ``flags`` (invalid ones reported and dropped)."""
    found: list[str] = []
    for flag in flags or ():
        try:
            keyword = flag_to_keyword(flag)
        except ValueError:
            report(f"flag {flag!r} cannot be stored")
            continue
        if not _KEYWORD.match(keyword):
            report(f"flag {flag!r} is not a valid keyword")
            continue
        if keyword not in found:
            found.append(keyword)
    return tuple(found)


def filing_for(action: Keep | FileInto, report: Report) -> Filing:
    """The :class:`~kernel.pipeline.Filing` of a keep or fileinto action."""
    words = keywords(action.flags, report)
    if isinstance(action, Keep):
        return Filing(None, words)
    special = action.special_use.lstrip("\\").lower() if action.special_use else None
    mailbox_id = parse_mailbox_id(action.mailbox_id) if action.mailbox_id else None
    try:
        return Filing(
            action.mailbox,
            words,
            create=action.create,
            special_use=special,
            mailbox_id=mailbox_id,
        )
    except ValueError as error:
        # RFC 5228 §4.1: a mailbox that cannot be used falls back to the default one.
        report(f"cannot file into {action.mailbox!r}: {error}")
        return Filing(None, words)


def reply_text(text: str, fallback: str = "rejected by a Sieve script") -> str:
    """``text`` as one line of printable ASCII fit for an SMTP reply."""
    line = " ".join(text.split())
    line = "".join(c if " " <= c <= "~" else "?" for c in line)
    if len(line) > MAX_REPLY_TEXT:
        line = line[: MAX_REPLY_TEXT - 3] + "..."
    return line or fallback


def _fields(raw: bytes) -> dict[str, list[tuple[str, str]]]:
    by_name: dict[str, list[tuple[str, str]]] = {}
    for header in parse_header_block(raw):
        value = unfold(header.value).decode("utf-8", "surrogateescape").strip()
        by_name.setdefault(header.name.lower(), []).append((header.name, value))
    return by_name


def _is_subsequence(short: list[str], long: list[str]) -> list[int] | None:
    """Indexes in ``long`` matching ``short`` in order, or None."""
    matched, position = [], 0
    for item in short:
        while position < len(long) and long[position] != item:
            position += 1
        if position == len(long):
            return None
        matched.append(position)
        position += 1
    return matched


def _fits(value: str) -> bool:
    return len(value) <= _MAX_HEADER_TEXT and value.isprintable() and value.isascii()


def header_edits(
    original: bytes, edited: bytes | None, report: Report
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The ``(add_headers, remove_headers)`` that turn ``original`` into ``edited``.

    Fields whose edit cannot be expressed in a verdict (trace fields, values longer
    than the pipeline allows or holding non-ASCII octets) are left as they were and
    reported.
    """
    if edited is None or edited == original:
        return (), ()
    before, after = _fields(original), _fields(edited)
    adds: list[tuple[str, str]] = []
    removes: list[str] = []
    order = [name for name in after if name not in before] + list(before)
    for lower in dict.fromkeys(order):
        old, new = before.get(lower, []), after.get(lower, [])
        old_values, new_values = [v for _, v in old], [v for _, v in new]
        if old_values == new_values:
            continue
        kept = _is_subsequence(old_values, new_values)
        wanted = (
            [new[i] for i in range(len(new)) if i not in set(kept)] if kept is not None else new
        )
        if kept is None and lower in _PROTECTED:
            report(f"{lower} fields cannot be removed; left as they were")
            continue
        if not all(_fits(value) for _, value in wanted):
            report(f"an edited {lower} field is too long or not ASCII; left as it was")
            continue
        if kept is None:
            removes.append(new[0][0] if new else old[0][0])
        adds.extend(wanted)
    # The pipeline puts added fields at the top in the order given: keep the edited order.
    position = {field: i for i, field in enumerate(_flat(edited))}
    adds.sort(key=lambda field: position.get(field, 0))
    return tuple(adds), tuple(removes)


def per_copy(
    copies: Sequence[tuple[Filing, bytes | None]], original: bytes, report: Report
) -> tuple[tuple[Filing, ...], Edits]:
    """The filings with their header edits, and the edits every copy shares.

    Args:
        copies: each filing with the message as editheader had left it when the
            copy was asked for (None: unchanged).
        original: the message as received.
        report: where problems of :func:`header_edits` go (each reported once).

    Returns:
        ``(filings, (add_headers, remove_headers))``: when every copy has the same
        edits, the filings carry none and the pair holds them (for the verdict);
        otherwise each filing carries its own (RFC 5293 §7) and the pair is empty.
    """
    found: dict[bytes | None, Edits] = {}
    for _, edited in copies:
        if edited not in found:
            found[edited] = header_edits(original, edited, report)
    edits = [found[edited] for _, edited in copies]
    if len(set(edits)) <= 1:
        return tuple(filing for filing, _ in copies), (edits[0] if edits else ((), ()))
    filings = tuple(
        replace(filing, add_headers=adds, remove_headers=removes)
        for (filing, _), (adds, removes) in zip(copies, edits, strict=True)
    )
    return filings, ((), ())


def _flat(raw: bytes) -> list[tuple[str, str]]:
    return [
        (h.name, unfold(h.value).decode("utf-8", "surrogateescape").strip())
        for h in parse_header_block(raw)
    ]
