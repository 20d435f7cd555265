"""Address lists (From, To, Cc, ...) and message-id lists, read leniently.

Implementation notes:

- One regex splits the value into tokens (white space, quoted strings, comments, domain
  literals, specials, atoms); a small state machine then builds mailboxes and groups.
  Dots are part of atoms, so ``john.doe`` is one token.
- Accepted beyond RFC 5322 §3.4: obsolete routes (``<@a,@b:user@c>``, RFC 5322 §4.4,
  dropped), missing angle brackets (``John john@x``: the word with ``@`` is the address),
  a display name after the address, unterminated quotes, brackets and groups, empty list
  elements, white space around ``@`` (obs-local-part / obs-domain CFWS). A comment gives
  the display name when there is none (``john@x (John Doe)``).
- Display names are unquoted and RFC 2047-decoded (also inside quoted strings, as mail
  readers do); pass ``decode=False`` to keep encoded-words, as IMAP ENVELOPE wants.
  Addresses keep quoted local parts as written (``"john doe"@example.com``).
- A list element without ``@`` becomes ``Address(None, word)`` when it is one word (a
  local mailbox, ``root``) and ``Address(words, "")`` otherwise. Nothing here raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import final

from kernel.mail.encoded_words import decode_words

__all__ = ["Address", "Group", "parse_address_list", "parse_message_ids"]


@final
@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox: display name (``None`` when absent) and addr-spec (``""`` when unknown)."""

    name: str | None
    email: str


@final
@dataclass(frozen=True, slots=True)
class Group:
    """A named group of mailboxes (RFC 5322 §3.4: ``Friends: a@x, b@y;``)."""

    name: str | None
    addresses: tuple[Address, ...]


# RFC 5322 §3.2 lexical tokens: quoted-string, comment (one nesting level, unterminated
# allowed), domain-literal, specials, atoms (dot-atoms included), anything else.
_TOKENS = re.compile(
    r"""[ \t\r\n]+
    |"(?:[^"\\]|\\.)*(?:"|\\?\Z)
    |\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\)?)*\)?
    |\[(?:[^\[\]\\]|\\.)*\]?
    |[<>,:;@]
    |[^ \t\r\n"(<>,:;@\[]+
    |.""",
    re.X | re.S,
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)
_SPACE = " "


def _word(token: str) -> str:
    if token[:1] == '"':
        inner = token[1:-1] if len(token) > 1 and token[-1] == '"' else token[1:]
        return _QUOTED_PAIR.sub(r"\1", inner) if "\\" in inner else inner
    return token


def _phrase(tokens: list[str], decode: bool) -> str | None:
    text = "".join(t if t == _SPACE else _word(t) for t in tokens).strip()
    if decode and "=?" in text:
        text = decode_words(text).strip()
    return text or None


def _comment_name(comments: list[str], decode: bool) -> str | None:
    for comment in comments:
        inner = comment[1:-1] if comment.endswith(")") else comment[1:]
        name = _phrase([inner], decode) if inner else None
        if name:
            return name
    return None


def _angle_address(tokens: list[str]) -> str:
    # RFC 5322 §4.4: obs-angle-addr = [CFWS] "<" obs-route addr-spec ">" [CFWS]
    if tokens and tokens[0] == "@" and ":" in tokens:
        tokens = tokens[len(tokens) - tokens[::-1].index(":") :]
    return "".join(tokens)


def _bare_address(phrase: list[str], decode: bool) -> tuple[str | None, str] | None:
    """Split name and addr-spec when there are no angle brackets."""
    words = [t for t in phrase if t != _SPACE]
    if not words:
        return None
    if "@" not in phrase:
        if len(words) == 1:
            return None, words[0]
        return _phrase(phrase, decode), ""
    at = phrase.index("@")
    first = at - 1
    if first >= 0 and phrase[first] == _SPACE:
        first -= 1
    while first > 0 and phrase[first - 1] != _SPACE:
        first -= 1
    last = at + 1
    if last < len(phrase) and phrase[last] == _SPACE:
        last += 1
    while last + 1 < len(phrase) and phrase[last + 1] != _SPACE:
        last += 1
    first = max(first, 0)
    email = "".join(t for t in phrase[first : last + 1] if t != _SPACE)
    rest = [*phrase[:first], _SPACE, *phrase[last + 1 :]]
    return _phrase(rest, decode), email


# Fast path for the common shapes: ``a@b``, ``Name <a@b>``, ``"Name" <a@b>``, comma
# separated, with no comments, groups, routes or escapes.
_SIMPLE = re.compile(
    r"""[\s,]*(?:
        (?:"([^"\\\r\n]*)"|([^"<>,;:@()\[\]\\]*?))\s*<([^<>\s"(),;:@\[\]\\]+@[^<>\s"(),;:@\[\]\\]+)>
        |([^<>\s"(),;:@\[\]\\]+@[^<>\s"(),;:@\[\]\\]+)
    )\s*(?:,|\Z)""",
    re.X,
)


def _parse_simple(value: str, decode: bool) -> list[Address | Group] | None:
    result: list[Address | Group] = []
    pos, end = 0, len(value)
    while pos < end:
        found = _SIMPLE.match(value, pos)
        if found is None:
            return None if value[pos:].strip(" \t\r\n,") else result
        quoted, bare, email, alone = found.groups()
        if alone is not None:
            result.append(Address(None, alone))
        else:
            name = quoted.strip() if quoted is not None else " ".join(bare.split())
            if decode and "=?" in name:
                name = decode_words(name).strip()
            result.append(Address(name or None, email))
        pos = found.end()
    return result


def parse_address_list(value: str, decode: bool = True) -> list[Address | Group]:
    """Parse an address-list (RFC 5322 §3.4) into mailboxes and groups; never raises.

    Args:
        value: the unfolded field value as text.
        decode: decode RFC 2047 encoded-words in display names.
    """
    simple = _parse_simple(value, decode)
    return simple if simple is not None else _parse_full(value, decode)


def _parse_full(value: str, decode: bool) -> list[Address | Group]:
    """The general address-list parser behind the fast path."""
    result: list[Address | Group] = []
    members: list[Address] | None = None
    group_name: str | None = None
    phrase: list[str] = []
    comments: list[str] = []
    angle: list[str] | None = None
    in_angle = False

    def flush() -> None:
        nonlocal angle
        if angle is not None:
            address: tuple[str | None, str] | None = (
                _phrase(phrase, decode),
                _angle_address(angle),
            )
        else:
            address = _bare_address(phrase, decode)
        if address is not None:
            name = address[0] if address[0] is not None else _comment_name(comments, decode)
            mailbox = Address(name, address[1])
            (members if members is not None else result).append(mailbox)
        phrase.clear()
        comments.clear()
        angle = None

    for token in _TOKENS.findall(value):
        first = token[0]
        if in_angle:
            if first == ">":
                in_angle = False
            elif first not in " \t\r\n(" and angle is not None:
                angle.append(token)
            continue
        if first in " \t\r\n":
            if phrase and phrase[-1] != _SPACE:
                phrase.append(_SPACE)
        elif first == "(":
            comments.append(token)
        elif first == "<" and angle is None:
            in_angle = True
            angle = []
        elif first == ",":
            flush()
        elif first == ":" and members is None and angle is None and "@" not in phrase:
            # RFC 5322 §3.4: group = display-name ":" [group-list] ";" [CFWS]
            group_name = _phrase(phrase, decode)
            members = []
            phrase.clear()
            comments.clear()
        elif first == ";" and members is not None:
            flush()
            result.append(Group(group_name, tuple(members)))
            members = None
        elif first not in "<>;" or len(token) > 1:
            phrase.append(token)
    flush()
    if members is not None:
        result.append(Group(group_name, tuple(members)))
    return result


# RFC 5322 §3.6.4: msg-id = [CFWS] "<" id-left "@" id-right ">" [CFWS]
_MSG_ID = re.compile(r"<([^<>]*)>")
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)", re.S)


def parse_message_ids(value: str) -> list[str]:
    """The msg-ids in a Message-ID, In-Reply-To or References value, without ``<>``.

    White space inside an id is removed (folding in the wild). Values without any angle
    brackets fall back to their white-space-separated words containing ``@``.
    """
    if "(" in value:
        value = _COMMENT.sub(" ", value)
    ids = ["".join(found.split()) for found in _MSG_ID.findall(value)]
    ids = [found for found in ids if found]
    if ids or "<" in value:
        return ids
    return [word for word in value.split() if "@" in word]
