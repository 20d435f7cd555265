"""FETCH data items as parsed (RFC 9051 §6.4.5, RFC 3501 §6.4.5 and extensions).

The parser expands the macros ``ALL``, ``FAST`` and ``FULL`` into their items and adds
nothing else (the session adds ``UID`` to UID FETCH responses and ``MODSEQ`` once
CONDSTORE is on; RFC 9051 §6.4.9, RFC 7162 §3.1.4.1).

    fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822.SIZE" / "BODY" ["STRUCTURE"]
              / "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial]
              / "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary
    section-spec = section-msgtext / (section-part ["." section-text])
    section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
    section-text = section-msgtext / "MIME"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, final

__all__ = ["BinarySection", "BinarySize", "BodySection", "FetchItem", "Section", "SimpleItem"]

SimpleName = Literal[
    "BODY",  # the non-extensible BODYSTRUCTURE
    "BODYSTRUCTURE",
    "EMAILID",  # RFC 8474
    "ENVELOPE",
    "FLAGS",
    "INTERNALDATE",
    "MODSEQ",  # RFC 7162
    "PREVIEW",  # RFC 8970 (the LAZY modifier is dropped: we always have the preview)
    "RFC822",  # IMAP4rev1: BODY[]
    "RFC822.HEADER",  # IMAP4rev1: BODY.PEEK[HEADER]
    "RFC822.SIZE",
    "RFC822.TEXT",  # IMAP4rev1: BODY[TEXT]
    "THREADID",  # RFC 8474
    "UID",
]


@final
@dataclass(frozen=True, slots=True)
class Section:
    """A ``section`` of BODY[...]: which part, and which piece of it.

    Attributes:
      part: the part path (``1.2.3`` is ``(1, 2, 3)``); ``()`` is the whole message.
      specifier: ``""`` (the whole part, or the whole message with ``part == ()``),
        ``HEADER``, ``HEADER.FIELDS``, ``HEADER.FIELDS.NOT``, ``TEXT`` or ``MIME``
        (``MIME`` only with a non-empty ``part``).
      fields: the header names of ``HEADER.FIELDS[.NOT]``, upper-cased, in the
        order given.
    """

    part: tuple[int, ...] = ()
    specifier: Literal["", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"] = ""
    fields: tuple[str, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class SimpleItem:
    """A data item without arguments."""

    name: SimpleName


@final
@dataclass(frozen=True, slots=True)
class BodySection:
    """``BODY[section]<partial>`` or ``BODY.PEEK[...]``; ``partial`` is ``(origin, length)``."""

    section: Section
    peek: bool = False
    partial: tuple[int, int] | None = None


@final
@dataclass(frozen=True, slots=True)
class BinarySection:
    """``BINARY[part]<partial>`` or ``BINARY.PEEK[...]`` (RFC 3516, RFC 9051 §6.4.5)."""

    part: tuple[int, ...]
    peek: bool = False
    partial: tuple[int, int] | None = None


@final
@dataclass(frozen=True, slots=True)
class BinarySize:
    """``BINARY.SIZE[part]``."""

    part: tuple[int, ...]


FetchItem = SimpleItem | BodySection | BinarySection | BinarySize
