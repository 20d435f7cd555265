"""SearchSnippet objects (RFC 8621 §5): the subject and a body fragment with the search
terms in ``<mark>`` elements, everything else HTML-escaped.

Sans-IO: :func:`search_terms` collects what a filter searches for, :func:`snippet`
renders one Email's snippet from its subject and body text.

Implementation notes:

- Terms come from the ``text``, ``subject`` and ``body`` conditions that are not under a
  ``NOT`` (a negated term cannot be in the Email); the subject is highlighted with the
  ``text`` and ``subject`` terms, the preview with the ``text`` and ``body`` ones.
- Matching is case-insensitive like Email/query's (a phrase's white space matches any
  white space). ``subject``/``preview`` are ``null`` when nothing in them matches (§5).
- The preview is at most :data:`PREVIEW_LENGTH` characters of the body text, white
  space collapsed, starting a little before the first match.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from plugins.jmap.mail.email_query_filter import text_terms

__all__ = ["PREVIEW_LENGTH", "Terms", "search_terms", "snippet"]

#: RFC 8621 §5: the preview "MUST NOT be more than 255 characters in length".
PREVIEW_LENGTH: Final = 255
_LEAD: Final = 40


@final
@dataclass(slots=True)
class Terms:
    """The search terms of a filter, by where they are looked for."""

    subject: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.subject or self.body)


def search_terms(node: Any, terms: Terms | None = None, negated: bool = False) -> Terms:
    """The terms a JMAP Email filter searches for (see the module notes)."""
    terms = terms if terms is not None else Terms()
    if not isinstance(node, Mapping):
        return terms
    if "operator" in node:
        inner = negated != (node.get("operator") == "NOT")
        for child in node.get("conditions") or []:
            search_terms(child, terms, inner)
        return terms
    if negated:
        return terms
    for name in ("text", "subject", "body"):
        value = node.get(name)
        if isinstance(value, str):
            found = text_terms(value)
            if name in ("text", "subject"):
                terms.subject.extend(found)
            if name in ("text", "body"):
                terms.body.extend(found)
    return terms


def _pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    pieces = sorted({t for t in terms if t}, key=len, reverse=True)
    if not pieces:
        return None
    alternatives = [r"\s+".join(re.escape(word) for word in term.split()) for term in pieces]
    return re.compile("|".join(alternatives), re.I)


def _highlight(text: str, pattern: re.Pattern[str]) -> str:
    out, pos = [], 0
    for found in pattern.finditer(text):
        if found.end() == found.start():
            continue
        out.append(html.escape(text[pos : found.start()], quote=False))
        out.append("<mark>" + html.escape(found.group(0), quote=False) + "</mark>")
        pos = found.end()
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


def snippet(email_id: str, subject: str | None, body: str, terms: Terms) -> dict[str, Any]:
    """The SearchSnippet of one Email.

    Args:
        email_id: the Email's id.
        subject: its subject (decoded), ``None`` when it has none.
        body: its body as plain text (HTML already reduced to text).
        terms: what the filter searches for.
    """
    out: dict[str, Any] = {"emailId": email_id, "subject": None, "preview": None}
    subject_pattern = _pattern(terms.subject)
    if subject and subject_pattern is not None and subject_pattern.search(subject):
        out["subject"] = _highlight(subject, subject_pattern)
    body_pattern = _pattern(terms.body)
    if body_pattern is not None:
        text = " ".join(body.split())
        found = body_pattern.search(text)
        if found is not None:
            start = max(0, found.start() - _LEAD)
            if start:
                space = text.find(" ", start, found.start())
                start = space + 1 if space >= 0 else start
            fragment = text[start : start + PREVIEW_LENGTH]
            out["preview"] = _highlight(fragment, body_pattern)
    return out
