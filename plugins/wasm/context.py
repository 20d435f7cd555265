"""What the host hands a rule call: the stage, the envelope, the message and the tables.

:class:`CallInput` is built on the trio side from the stage hook's arguments and is
immutable; the worker thread reads it through the guest's getter imports.
:class:`MessageView` parses the message lazily (only when a guest asks for a header
or a part) with the kernel's MIME parser, and once per stage for all modules.

Implementation notes:

* Header values are unfolded, RFC 2047-decoded and stripped; names compare
  case-insensitively (RFC 5322 §1.2.2). Only the top-level header is searched.
* Parts are the leaves of the MIME tree (RFC 2046 §5.1), in document order; an
  encapsulated message's leaves are included. ``part_text`` decodes the transfer
  encoding and charset (RFC 2045 §6, RFC 2046 §4.1.2) of ``text/*`` leaves, turns
  HTML into plain text, and caps the result at ``max_text`` characters.
* Tables are lower-cased at build time: a list becomes a set (every value ``""``),
  a mapping keeps its values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, final

from kernel.mail import (
    Part,
    decode_text,
    decode_words,
    html_to_text,
    parse_header_block,
    parse_message,
    walk,
)
from plugins.wasm.abi import EnvField, PartField

__all__ = ["CallInput", "MessageView", "build_tables"]


def build_tables(raw: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """Config tables (``{name: [keys] | {key: value}}``) as lower-cased dicts."""
    out: dict[str, dict[str, str]] = {}
    for name, table in (raw or {}).items():
        if isinstance(table, Mapping):
            out[str(name)] = {str(k).lower(): str(v) for k, v in table.items()}
        else:
            out[str(name)] = {str(k).lower(): "" for k in table}
    return out


@final
class MessageView:
    """A message as the getters see it; parsing happens on first use."""

    def __init__(self, raw: bytes, max_text: int) -> None:
        self.raw = raw
        self.max_text = max_text
        self._texts: dict[int, str | None] = {}

    @cached_property
    def _headers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        root = self._parsed.root
        for header in parse_header_block(self.raw, root.header_start, root.header_end):
            out.setdefault(header.lower_name, []).append(decode_words(header.text))
        return out

    @cached_property
    def _parsed(self) -> Any:
        return parse_message(self.raw)

    @cached_property
    def parts(self) -> tuple[Part, ...]:
        """The MIME leaves in document order."""
        return tuple(part for part in walk(self._parsed.root) if not part.children)

    def header(self, name: str, index: int) -> str | None:
        """The ``index``-th field called ``name`` (0-based), decoded, or None."""
        values = self._headers.get(name.lower(), [])
        return values[index] if 0 <= index < len(values) else None

    def header_count(self, name: str) -> int:
        """How many fields are called ``name``."""
        return len(self._headers.get(name.lower(), []))

    def part_field(self, index: int, which: int) -> str | None:
        """A field of leaf ``index`` (:class:`~plugins.wasm.abi.PartField`), or None."""
        if not 0 <= index < len(self.parts):
            return None
        part = self.parts[index]
        if which == PartField.MIME_TYPE:
            return part.mime_type
        if which == PartField.FILENAME:
            return part.filename
        if which == PartField.DISPOSITION:
            return part.disposition
        if which == PartField.CHARSET:
            return part.charset
        if which == PartField.SIZE:
            return str(part.body_size)
        return None

    def part_text(self, index: int) -> str | None:
        """The decoded text of a ``text/*`` leaf, or None for other parts."""
        if index in self._texts:
            return self._texts[index]
        text = None
        if 0 <= index < len(self.parts) and self.parts[index].content_type == "text":
            part = self.parts[index]
            # Decode a little more than max_text raw bytes: encodings only shrink text.
            decoded = decode_text(self.raw, part, limit=self.max_text * 4 + 4)
            text = html_to_text(decoded) if part.subtype == "html" else decoded
            text = text[: self.max_text]
        self._texts[index] = text
        return text


@final
@dataclass(frozen=True)
class CallInput:
    """Everything one stage's rule calls may read.

    Args:
        stage: ``connect``, ``ehlo``, ``mail``, ``rcpt``, ``data`` or ``delivery``.
        envelope: values by :class:`~plugins.wasm.abi.EnvField`; RCPT_TO is a tuple.
        message: the message (data and delivery stages), else None.
        tables: the lookup tables (:func:`build_tables`).
        auth_results: method -> result (``spf`` -> ``pass``); empty until an
            authentication plugin provides them.
    """

    stage: str
    envelope: Mapping[int, Any]
    message: MessageView | None = None
    tables: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    auth_results: Mapping[str, str] = field(default_factory=dict)

    def envelope_field(self, which: int, index: int) -> str | None:
        """An envelope field (indexed for RCPT_TO), or None when absent."""
        if which == EnvField.STAGE:
            return self.stage if index == 0 else None
        value = self.envelope.get(which)
        if isinstance(value, tuple):
            return value[index] if 0 <= index < len(value) else None
        return value if index == 0 else None

    def lookup(self, table: str, key: str) -> str | None:
        """The value of ``key`` (case-insensitive) in ``table``; None if absent."""
        found = self.tables.get(table)
        return None if found is None else found.get(key.lower())
