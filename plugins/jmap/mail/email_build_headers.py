"""Header fields for Email/set create (RFC 8621 §4.6): JMAP values back into RFC 5322.

Each parsed form of §4.1.2 has a writer here: Raw is written as given; Text and display
names are RFC 2047 encoded when they are not ASCII (UTF-8 ``B`` words, never splitting a
character); Addresses/GroupedAddresses become ``name <email>`` lists; MessageIds
``<id>`` lists; Date an RFC 5322 date; URLs ``<url>`` lists. Lines are folded at white
space to stay under 78 characters where possible (RFC 5322 §2.1.1).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Final

__all__ = ["BuildError", "encode_phrase", "encode_text", "fold", "form_to_value"]

# RFC 5322 §3.2.3 atext, and white space between words.
_ATOM_PHRASE: Final = re.compile(r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ .]*$")
_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")


class BuildError(Exception):
    """A creation the server refuses: the SetError ``type`` and the bad ``properties``."""

    def __init__(self, type: str, properties: list[str] | None = None, **extra: Any) -> None:
        super().__init__(type)
        self.type = type
        self.properties = properties or []
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        """The SetError object."""
        out: dict[str, Any] = {"type": self.type}
        if self.properties:
            out["properties"] = self.properties
        out.update(self.extra)
        return out


def _encoded_words(text: str) -> str:
    # RFC 2047 §2: an encoded-word is at most 75 characters; 45 octets of UTF-8 give
    # 60 base64 characters plus the 12 of "=?UTF-8?B??=".
    words, chunk = [], b""
    for char in text:
        data = char.encode("utf-8", "surrogatepass")
        if len(chunk) + len(data) > 45:
            words.append(chunk)
            chunk = b""
        chunk += data
    if chunk:
        words.append(chunk)
    return " ".join(f"=?UTF-8?B?{base64.b64encode(w).decode('ascii')}?=" for w in words)


def encode_text(text: str) -> str:
    """Unstructured text (Subject, Comments, ...), encoded-words only where needed."""
    text = " ".join(_LINE_BREAK.split(text))
    if text.isascii() and "=?" not in text:
        return text
    # RFC 2047 §6.2: white space between encoded-words is dropped, so the whole text
    # (its spaces included) goes into the words.
    return _encoded_words(text)


def encode_phrase(name: str) -> str:
    """A display name (RFC 5322 §3.2.5 phrase): atoms, a quoted string or encoded-words."""
    name = " ".join(name.split())
    if not name.isascii() or "=?" in name:
        return _encoded_words(name)
    if _ATOM_PHRASE.match(name) and not name.startswith(".") and ".." not in name:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _address(item: Any, prop: str) -> str:
    if not isinstance(item, Mapping) or not isinstance(item.get("email"), str):
        raise BuildError("invalidProperties", [prop])
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise BuildError("invalidProperties", [prop])
    email = "".join(_LINE_BREAK.split(item["email"])).strip()
    return f"{encode_phrase(name)} <{email}>" if name else email


def _addresses(value: Any, prop: str) -> str:
    if not isinstance(value, list):
        raise BuildError("invalidProperties", [prop])
    return ", ".join(_address(item, prop) for item in value)


def _groups(value: Any, prop: str) -> str:
    if not isinstance(value, list):
        raise BuildError("invalidProperties", [prop])
    out = []
    for group in value:
        if not isinstance(group, Mapping):
            raise BuildError("invalidProperties", [prop])
        members = _addresses(group.get("addresses"), prop)
        name = group.get("name")
        if name is None:
            if members:
                out.append(members)
        elif isinstance(name, str):
            out.append(f"{encode_phrase(name)}: {members};")
        else:
            raise BuildError("invalidProperties", [prop])
    return ", ".join(out)


def _date(value: Any, prop: str) -> str:
    if not isinstance(value, str):
        raise BuildError("invalidProperties", [prop])
    try:
        when = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise BuildError("invalidProperties", [prop]) from None
    if when.tzinfo is None:
        raise BuildError("invalidProperties", [prop])
    return format_datetime(when)


def _string_list(value: Any, prop: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BuildError("invalidProperties", [prop])
    return ["".join(v.split()) for v in value]


def form_to_value(value: Any, form: str, prop: str) -> str | None:
    """The field value (without the leading space) of one ``value`` in ``form``;
    ``None`` when the field is to be left out (a null value)."""
    if value is None:
        return None
    if form == "Raw":
        if not isinstance(value, str):
            raise BuildError("invalidProperties", [prop])
        # Keep folds (a break followed by white space); other breaks would end the field.
        text = re.sub(r"\r?\n(?![ \t])", " ", value.replace("\r\n", "\n")).replace("\r", " ")
        return text.replace("\n", "\r\n").lstrip(" ")
    if form == "Text":
        if not isinstance(value, str):
            raise BuildError("invalidProperties", [prop])
        return encode_text(value)
    if form == "Addresses":
        return _addresses(value, prop)
    if form == "GroupedAddresses":
        return _groups(value, prop)
    if form == "MessageIds":
        return " ".join(f"<{v}>" for v in _string_list(value, prop))
    if form == "Date":
        return _date(value, prop)
    if form == "URLs":
        return ", ".join(f"<{v}>" for v in _string_list(value, prop))
    raise BuildError("invalidProperties", [prop])


def fold(name: str, value: str) -> bytes:
    """``name: value`` CRLF, folded at spaces so lines stay near 78 characters."""
    if "\r\n" in value:  # a Raw value with its own folding: kept as is
        return f"{name}: {value}\r\n".encode()
    line = f"{name}:"
    lines: list[str] = []
    for word in value.split(" "):
        if len(line) + 1 + len(word) > 78 and line.strip() and not line.endswith(":"):
            lines.append(line)
            line = " " + word
        else:
            line = f"{line} {word}"
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogatepass")
