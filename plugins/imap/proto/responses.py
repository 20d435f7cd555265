"""IMAP replies as bytes: the data formats (RFC 9051 §4) and the server responses (§7).

The session builds every reply through these functions and never writes wire text
itself. Each function returns complete bytes (a whole line with its CRLF for responses);
a FETCH response is built with :class:`FetchResponse`, which keeps large literals apart
so the driver can stream them.

Implementation notes:

- Strings (RFC 9051 §4.3): :func:`string` sends a quoted string when it can, a literal
  otherwise. A quoted string holds no CR, LF or NUL and at most :data:`QUOTED_MAX`
  octets. 8-bit text goes into a quoted string only with ``utf8=True``, which the
  session passes once IMAP4rev2 (RFC 9051 §4.3.1: "MAY transmit [UTF-8] text in
  quoted-strings") or UTF8=ACCEPT (RFC 6855 §3: the server "MUST NOT send UTF-8 in
  quoted-strings to the client unless" it was enabled) is in force; otherwise 8-bit text
  is sent as a literal, which carries any CHAR8.
- deviation(RFC 9051 §9): NUL "MUST NOT be used anywhere" outside literal8, so NUL
  octets in small strings (envelope fields, parameters) are dropped rather than sent.
  Message sections (BODY[...]) go out as stored; :class:`FetchResponse` sends
  ``literal8`` only where the caller asks for it (BINARY, RFC 3516 §4.3).
- Astrings (mailbox names, quota roots, ...) are atoms when every character is an
  ASTRING-CHAR, except ``NIL``, which is quoted so that no client can take it for nil
  (RFC 9051 §4.5). Mailbox names are modified UTF-7 without ``utf8`` (RFC 3501 §5.1.3).
- resp-text (RFC 9051 §9): CR, LF and NUL become spaces, and without ``utf8`` non-ASCII
  characters become ``?`` (``text`` is 7-bit before IMAP4rev2). RFC 3501 requires the
  text, so an empty one is sent as ``completed``.
- Flags and capabilities are trusted to be atoms (the parser or the configuration has
  checked them); they are joined, not re-validated, which keeps the FLAGS fast path of
  :func:`fetch_flags` at about a microsecond per message.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from typing import Final, Literal, final

from plugins.imap.proto.mutf7 import encode_mutf7
from plugins.imap.proto.sequence import SequenceSet

__all__ = [
    "CRLF",
    "QUOTED_MAX",
    "STREAM_THRESHOLD",
    "FetchResponse",
    "ThreadNode",
    "acl",
    "astring",
    "atom",
    "bye",
    "capability",
    "code",
    "code_appenduid",
    "code_badcharset",
    "code_capability",
    "code_copyuid",
    "code_highestmodseq",
    "code_modified",
    "code_permanentflags",
    "code_uidnext",
    "code_uidvalidity",
    "continuation",
    "continuation_data",
    "data",
    "enabled",
    "esearch",
    "exists",
    "expunge",
    "fetch_flags",
    "flag_list",
    "flags",
    "id_response",
    "list_mailbox",
    "listrights",
    "literal",
    "literal8",
    "mailbox",
    "metadata",
    "myrights",
    "namespace",
    "nstring",
    "number",
    "plist",
    "quota",
    "quotaroot",
    "quoted",
    "recent",
    "search",
    "sort",
    "status",
    "string",
    "tagged",
    "thread",
    "untagged",
    "vanished",
]

CRLF: Final = b"\r\n"
#: Longer strings are sent as literals even when they could be quoted.
QUOTED_MAX: Final = 1024
#: Literal payloads at least this long stay separate in :meth:`FetchResponse.pieces`.
STREAM_THRESHOLD: Final = 16 * 1024

Text = str | bytes
Status = Literal["OK", "NO", "BAD"]
UntaggedStatus = Literal["OK", "NO", "BAD", "BYE", "PREAUTH"]
#: A THREAD node: a message number (``None`` for a missing parent) and its children.
ThreadNode = tuple[int | None, Sequence["ThreadNode"]]

# RFC 9051 §9: quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR excludes CR and LF.
_NOT_QUOTABLE_STR = re.compile(r"[\x00\r\n]")
_NOT_QUOTABLE = re.compile(rb"[\x00\r\n]")
# RFC 9051 §9: ASTRING-CHAR = ATOM-CHAR / resp-specials; ATOM-CHAR is any CHAR except
# atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / "]".
_NOT_ASTRING = re.compile(rb"[^\x21\x23\x24\x26\x27\x2b-\x5b\x5d-\x7a\x7c-\x7e]")
_NOT_ATOM = re.compile(rb"[^\x21\x23\x24\x26\x27\x2b-\x5b\x5e-\x7a\x7c-\x7e]")
_TEXT_BREAKS = str.maketrans("\r\n\x00", "   ")


# --- Data formats (RFC 9051 §4) ---------------------------------------------------------


def number(value: int) -> bytes:
    """A number or number64 (RFC 9051 §4.2)."""
    return b"%d" % value


def _is_atom(value: str) -> bool:
    return value.isascii() and bool(value) and _NOT_ATOM.search(value.encode("ascii")) is None


def atom(value: str) -> bytes:
    """An atom (RFC 9051 §4.1); raises :class:`ValueError` when ``value`` is not one."""
    if not _is_atom(value):
        raise ValueError(f"not an IMAP atom: {value!r}")
    return value.encode("ascii")


def quoted(value: Text) -> bytes:
    """A quoted string (RFC 9051 §4.3); the caller has checked that it may be quoted."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if b"\\" in data or b'"' in data:
        data = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return b'"' + data + b'"'


def literal(data: bytes | memoryview) -> bytes:
    """A synchronizing literal ``{n}`` CRLF data (RFC 9051 §4.3)."""
    return b"{%d}\r\n" % len(data) + data


def literal8(data: bytes | memoryview) -> bytes:
    """A ``literal8`` ``~{n}`` CRLF data, which may hold NUL (RFC 3516 §4.3)."""
    return b"~{%d}\r\n" % len(data) + data


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def string(value: Text, *, utf8: bool = False) -> bytes:
    """A string: quoted when it may be, else a literal (see the module notes).

    Args:
        value: the text, or raw octets (a header value as stored).
        utf8: UTF-8 is allowed in quoted strings (IMAP4rev2 or UTF8=ACCEPT).
    """
    if isinstance(value, str):
        if not value.isascii():
            return string(value.encode("utf-8", "replace"), utf8=utf8)
        if "\x00" in value:
            # deviation(RFC 9051 §9): NUL has no place in a string; it is dropped.
            value = value.replace("\x00", "")
        if len(value) <= QUOTED_MAX and _NOT_QUOTABLE_STR.search(value) is None:
            return quoted(value)
        return literal(value.encode("ascii"))
    if b"\x00" in value:
        # deviation(RFC 9051 §9): NUL has no place in a string; it is dropped.
        value = value.replace(b"\x00", b"")
    if (
        len(value) <= QUOTED_MAX
        and _NOT_QUOTABLE.search(value) is None
        and (value.isascii() or (utf8 and _is_utf8(value)))
    ):
        return quoted(value)
    return literal(value)


def nstring(value: Text | None, *, utf8: bool = False) -> bytes:
    """A string, or ``NIL`` for ``None`` (RFC 9051 §4.5)."""
    return b"NIL" if value is None else string(value, utf8=utf8)


def astring(value: Text, *, utf8: bool = False) -> bytes:
    """An atom when every character allows it, else a string (RFC 9051 §9 ``astring``)."""
    if isinstance(value, str) and not value.isascii():
        # Never an atom; and encoding first would turn a lone surrogate into "?".
        return string(value, utf8=utf8)
    data = value.encode("ascii") if isinstance(value, str) else value
    if data and _NOT_ASTRING.search(data) is None and data.upper() != b"NIL":
        return data
    return string(value, utf8=utf8)


def mailbox(name: str, *, utf8: bool = False) -> bytes:
    """A mailbox name: UTF-8 with ``utf8``, else modified UTF-7 (RFC 3501 §5.1.3)."""
    return astring(name if utf8 else encode_mutf7(name), utf8=utf8)


def plist(items: Iterable[bytes]) -> bytes:
    """A parenthesized list of already serialised items (RFC 9051 §4.4)."""
    return b"(" + b" ".join(items) + b")"


def flag_list(flag_names: Iterable[str]) -> bytes:
    """``(\\Seen $Forwarded)``: a flag list (RFC 9051 §9 ``flag-list``)."""
    return ("(" + " ".join(flag_names) + ")").encode("ascii")


def _text(text: str, utf8: bool) -> bytes:
    """resp-text's ``text`` (see the module notes)."""
    text = text.translate(_TEXT_BREAKS) or "completed"
    return text.encode("utf-8", "replace") if utf8 else text.encode("ascii", "replace")


# --- Response codes (RFC 9051 §7.1) ------------------------------------------------------


def code(name: str, *arguments: bytes) -> bytes:
    """A response code, without its brackets: ``code("UIDNEXT", number(5))``."""
    return b" ".join((name.encode("ascii"), *arguments))


def code_uidnext(uid: int) -> bytes:
    """``UIDNEXT n`` (RFC 9051 §7.1)."""
    return b"UIDNEXT %d" % uid


def code_uidvalidity(validity: int) -> bytes:
    """``UIDVALIDITY n`` (RFC 9051 §7.1)."""
    return b"UIDVALIDITY %d" % validity


def code_permanentflags(flag_names: Iterable[str]) -> bytes:
    """``PERMANENTFLAGS (...)``; include ``\\*`` in ``flag_names`` when keywords may be created."""
    return b"PERMANENTFLAGS " + flag_list(flag_names)


def code_capability(capabilities: Iterable[str]) -> bytes:
    """``CAPABILITY ...`` inside a greeting or a LOGIN reply (RFC 9051 §7.1)."""
    return ("CAPABILITY " + " ".join(capabilities)).encode("ascii")


def code_appenduid(validity: int, uids: SequenceSet) -> bytes:
    """``APPENDUID validity uid-set`` (RFC 4315 §3, RFC 9051 §7.1)."""
    return b"APPENDUID %d %s" % (validity, str(uids).encode("ascii"))


def code_copyuid(validity: int, source: SequenceSet, destination: SequenceSet) -> bytes:
    """``COPYUID validity source-set destination-set``; the sets must correspond in order."""
    return b"COPYUID %d %s %s" % (
        validity,
        str(source).encode("ascii"),
        str(destination).encode("ascii"),
    )


def code_highestmodseq(modseq: int) -> bytes:
    """``HIGHESTMODSEQ n`` (RFC 7162 §3.1.2.1)."""
    return b"HIGHESTMODSEQ %d" % modseq


def code_modified(numbers: SequenceSet) -> bytes:
    """``MODIFIED set``: messages a conditional STORE left alone (RFC 7162 §3.1.3)."""
    return b"MODIFIED " + str(numbers).encode("ascii")


def code_badcharset(charsets: Iterable[str] = ()) -> bytes:
    """``BADCHARSET`` with the supported charsets (RFC 9051 §7.1)."""
    # RFC 9051 §9: charset = atom / quoted
    names = [name.encode("ascii") if _is_atom(name) else quoted(name) for name in charsets]
    return b"BADCHARSET " + plist(names) if names else b"BADCHARSET"


# --- Status responses and continuation (RFC 9051 §7.1, §7.6) -----------------------------


def _status_line(tag: str, status: str, text: str, code: bytes | None, utf8: bool) -> bytes:
    # RFC 9051 §9: resp-cond-state = ("OK" / "NO" / "BAD") SP resp-text
    #              resp-text = ["[" resp-text-code "]" SP] [text]
    head = tag.encode("ascii") + b" " + status.encode("ascii") + b" "
    if code is not None:
        head += b"[" + code + b"] "
    return head + _text(text, utf8) + CRLF


def tagged(
    tag: str, status: Status, text: str, *, code: bytes | None = None, utf8: bool = False
) -> bytes:
    """``tag OK [code] text`` CRLF (RFC 9051 §7.1); ``code`` comes from the ``code*``
    functions, ``text`` is human-readable (see the module notes)."""
    return _status_line(tag, status, text, code, utf8)


def untagged(
    status: UntaggedStatus, text: str, *, code: bytes | None = None, utf8: bool = False
) -> bytes:
    """``* OK [code] text`` CRLF, also NO, BAD, BYE and PREAUTH (RFC 9051 §7.1)."""
    return _status_line("*", status, text, code, utf8)


def bye(text: str, *, code: bytes | None = None) -> bytes:
    """``* BYE text`` CRLF (RFC 9051 §7.1.5)."""
    return untagged("BYE", text, code=code)


def continuation(text: str = "") -> bytes:
    """``+ text`` CRLF: the command continuation request (RFC 9051 §7.6)."""
    return b"+ " + text.translate(_TEXT_BREAKS).encode("ascii", "replace") + CRLF


def continuation_data(challenge: bytes) -> bytes:
    """``+ base64`` CRLF: a SASL challenge during AUTHENTICATE (RFC 9051 §6.2.2)."""
    return b"+ " + base64.b64encode(challenge) + CRLF


# --- Server and mailbox data (RFC 9051 §7.2 to §7.5) --------------------------------------


def data(*items: bytes) -> bytes:
    """``* item item ...`` CRLF: untagged data that has no helper of its own."""
    return b"* " + b" ".join(items) + CRLF


def capability(capabilities: Iterable[str]) -> bytes:
    """``* CAPABILITY ...`` (RFC 9051 §7.2.2)."""
    return ("* CAPABILITY " + " ".join(capabilities) + "\r\n").encode("ascii")


def enabled(capabilities: Iterable[str]) -> bytes:
    """``* ENABLED ...`` (RFC 5161 §3.2, RFC 9051 §7.2.1); none enabled gives ``* ENABLED``."""
    return " ".join(("* ENABLED", *capabilities)).encode("ascii") + CRLF


def exists(count: int) -> bytes:
    """``* n EXISTS`` (RFC 9051 §7.4.1)."""
    return b"* %d EXISTS\r\n" % count


def recent(count: int) -> bytes:
    """``* n RECENT``, for IMAP4rev1 clients only (RFC 3501 §7.3.2)."""
    return b"* %d RECENT\r\n" % count


def expunge(number: int) -> bytes:
    """``* n EXPUNGE`` (RFC 9051 §7.5.1)."""
    return b"* %d EXPUNGE\r\n" % number


def vanished(uids: SequenceSet, *, earlier: bool = False) -> bytes:
    """``* VANISHED [(EARLIER)] uid-set`` (RFC 7162 §3.2.10)."""
    head = b"* VANISHED (EARLIER) " if earlier else b"* VANISHED "
    return head + str(uids).encode("ascii") + CRLF


def flags(flag_names: Iterable[str]) -> bytes:
    """``* FLAGS (...)`` (RFC 9051 §7.3.5)."""
    return b"* FLAGS " + flag_list(flag_names) + CRLF


def list_mailbox(
    attributes: Iterable[str],
    delimiter: str | None,
    name: str,
    *,
    utf8: bool = False,
    extended: Iterable[tuple[str, bytes]] = (),
    command: Literal["LIST", "LSUB"] = "LIST",
) -> bytes:
    """``* LIST (\\HasNoChildren) "/" name [(extended items)]`` (RFC 9051 §7.3.1).

    Args:
        attributes: the name attributes (``\\Noselect``, ``\\Sent``, ...).
        delimiter: the hierarchy delimiter, ``None`` for a flat name space.
        name: the mailbox name (Unicode; see :func:`mailbox`).
        utf8: UTF-8 names are allowed (IMAP4rev2, UTF8=ACCEPT).
        extended: mbox-list-extended items as ``(tag, serialised value)``, for instance
            ``("CHILDINFO", plist([quoted("SUBSCRIBED")]))`` (RFC 5258 §3.5) or
            ``("OLDNAME", plist([mailbox(old)]))`` (RFC 9051 §6.3.9.7).
        command: ``LSUB`` for the IMAP4rev1 LSUB response (RFC 3501 §7.2.3).
    """
    line = b"* %s %s %s %s" % (
        command.encode("ascii"),
        flag_list(attributes),
        b"NIL" if delimiter is None else quoted(delimiter),
        mailbox(name, utf8=utf8),
    )
    items = [quoted(tag) + b" " + value for tag, value in extended]
    if items:
        line += b" " + plist(items)
    return line + CRLF


def _value(value: int | SequenceSet | bytes) -> bytes:
    """A number, a sequence set, or an already serialised value."""
    if isinstance(value, int):
        return b"%d" % value
    return value if isinstance(value, bytes) else str(value).encode("ascii")


def status(name: str, items: Iterable[tuple[str, int | bytes]], *, utf8: bool = False) -> bytes:
    """``* STATUS name (MESSAGES 3 UIDNEXT 9)`` (RFC 9051 §7.3.3; RFC 3501 §7.2.4).

    Values are numbers, or serialised bytes such as ``MAILBOXID``'s ``(F2212ea87)``.
    """
    values = [item.encode("ascii") + b" " + _value(value) for item, value in items]
    return b"* STATUS " + mailbox(name, utf8=utf8) + b" " + plist(values) + CRLF


def esearch(
    results: Iterable[tuple[str, int | SequenceSet | bytes]],
    *,
    tag: str | None = None,
    uid: bool = False,
) -> bytes:
    """``* ESEARCH (TAG "a1") UID MIN 2 COUNT 3`` (RFC 9051 §7.3.4, RFC 4731 §3.1).

    Args:
        results: return data in order, ``("MIN", 2)``, ``("ALL", SequenceSet...)``,
            ``("MODSEQ", n)`` (RFC 7162 §3.1.5); RFC 4731 §3.1: leave out ``ALL``, ``MIN``
            and ``MAX`` when nothing matched.
        tag: the command's tag for the search correlator.
        uid: the numbers are UIDs.
    """
    parts = [b"* ESEARCH"]
    if tag is not None:
        parts.append(b"(TAG " + string(tag) + b")")
    if uid:
        parts.append(b"UID")
    for name, value in results:
        parts.append(name.encode("ascii"))
        parts.append(_value(value))
    return b" ".join(parts) + CRLF


def search(numbers: Iterable[int], *, modseq: int | None = None) -> bytes:
    """``* SEARCH 2 3 [(MODSEQ n)]``, IMAP4rev1 (RFC 3501 §7.2.5, RFC 7162 §3.1.5)."""
    line = b" ".join([b"* SEARCH", *(b"%d" % n for n in numbers)])
    if modseq is not None:
        line += b" (MODSEQ %d)" % modseq
    return line + CRLF


def sort(numbers: Iterable[int]) -> bytes:
    """``* SORT 2 3 6`` (RFC 5256 §4)."""
    return b" ".join([b"* SORT", *(b"%d" % n for n in numbers)]) + CRLF


def _thread_body(node: ThreadNode) -> bytes:
    """One thread without its outer parentheses: a chain, then the branches."""
    chain: list[bytes] = []
    current, children = node
    while True:
        if current is not None:
            chain.append(b"%d" % current)
        if len(children) != 1:
            break
        current, children = children[0]
    if children:
        chain.append(b"".join(b"(" + _thread_body(child) + b")" for child in children))
    return b" ".join(chain)


def thread(roots: Iterable[ThreadNode]) -> bytes:
    """``* THREAD (2)(3 6 (4 23)(44 7 96))`` (RFC 5256 §4); ``None`` marks a dummy parent."""
    # RFC 5256 §5: thread-data = "THREAD" [SP 1*thread-list]
    lists = b"".join(b"(" + _thread_body(root) + b")" for root in roots)
    return b"* THREAD " + lists + CRLF if lists else b"* THREAD\r\n"


NamespaceList = Sequence[tuple[str, str | None]] | None


def namespace(
    personal: NamespaceList, other: NamespaceList, shared: NamespaceList, *, utf8: bool = False
) -> bytes:
    """``* NAMESPACE (("" "/")) NIL NIL``: ``(prefix, delimiter)`` lists (RFC 9051 §7.3.2)."""

    def one(entries: NamespaceList) -> bytes:
        if not entries:
            return b"NIL"
        return plist(
            plist(
                (
                    string(prefix if utf8 else encode_mutf7(prefix), utf8=utf8),
                    b"NIL" if delimiter is None else quoted(delimiter),
                )
            )
            for prefix, delimiter in entries
        )

    return b"* NAMESPACE %s %s %s\r\n" % (one(personal), one(other), one(shared))


def id_response(fields: Sequence[tuple[str, str | None]] | None) -> bytes:
    """``* ID ("name" "server" ...)`` or ``* ID NIL`` (RFC 2971 §3.2)."""
    if not fields:
        return b"* ID NIL\r\n"
    items = [string(key) + b" " + nstring(value) for key, value in fields]
    return b"* ID " + plist(items) + CRLF


def quota(root: str, resources: Iterable[tuple[str, int, int]]) -> bytes:
    """``* QUOTA "" (STORAGE 10 512)``: ``(resource, usage, limit)`` (RFC 9208 §4.2.1)."""
    items = [b"%s %d %d" % (name.encode("ascii"), used, limit) for name, used, limit in resources]
    return b"* QUOTA " + astring(root) + b" " + plist(items) + CRLF


def quotaroot(name: str, roots: Iterable[str], *, utf8: bool = False) -> bytes:
    """``* QUOTAROOT INBOX ""`` (RFC 9208 §4.2.2)."""
    return b" ".join([b"* QUOTAROOT", mailbox(name, utf8=utf8), *map(astring, roots)]) + CRLF


def myrights(name: str, rights: str, *, utf8: bool = False) -> bytes:
    """``* MYRIGHTS INBOX lrswi`` (RFC 4314 §3.8)."""
    return b"* MYRIGHTS " + mailbox(name, utf8=utf8) + b" " + astring(rights) + CRLF


def acl(name: str, entries: Iterable[tuple[str, str]], *, utf8: bool = False) -> bytes:
    """``* ACL INBOX fred lrs``: ``(identifier, rights)`` pairs (RFC 4314 §3.6)."""
    parts = [b"* ACL", mailbox(name, utf8=utf8)]
    for identifier, rights in entries:
        parts += (astring(identifier, utf8=utf8), astring(rights))
    return b" ".join(parts) + CRLF


def listrights(
    name: str, identifier: str, required: str, optional: Iterable[str], *, utf8: bool = False
) -> bytes:
    """``* LISTRIGHTS INBOX fred la r swi`` (RFC 4314 §3.7)."""
    parts = [b"* LISTRIGHTS", mailbox(name, utf8=utf8), astring(identifier, utf8=utf8)]
    parts += [astring(required), *map(astring, optional)]
    return b" ".join(parts) + CRLF


def metadata(name: str, entries: Iterable[tuple[str, Text | None]], *, utf8: bool = False) -> bytes:
    """``* METADATA INBOX (/private/comment "x")`` (RFC 5464 §4.4.1); ``""`` for the server."""
    items = [astring(entry) + b" " + nstring(value, utf8=utf8) for entry, value in entries]
    return b"* METADATA " + mailbox(name, utf8=utf8) + b" " + plist(items) + CRLF


# --- FETCH (RFC 9051 §7.5.2) ------------------------------------------------------------


def fetch_flags(
    number: int, flag_names: Iterable[str], *, uid: int | None = None, modseq: int | None = None
) -> bytes:
    """``* n FETCH (FLAGS (...) [UID u] [MODSEQ (m)])``: STORE replies and flag updates.

    RFC 9051 §7.5.2: unsolicited FETCH responses "MUST include UID"; RFC 7162 §3.2.4:
    once CONDSTORE is enabled they carry UID and MODSEQ too.
    """
    line = b"* %d FETCH (FLAGS (%s)" % (number, " ".join(flag_names).encode("ascii"))
    if uid is not None:
        line += b" UID %d" % uid
    if modseq is not None:
        line += b" MODSEQ (%d)" % modseq
    return line + b")\r\n"


@final
class FetchResponse:
    """One ``* n FETCH (...)`` response, item by item, for the driver to stream.

    Usage::

        response = FetchResponse(3)
        response.item(b"UID", number(7))
        response.content(b"BODY[]", payload)
        writer(response.pieces())

    Implementation notes: items are kept as serialised bytes, except literal payloads,
    which are kept as given (``bytes`` or a ``memoryview`` into the stored message) and
    never copied into a bigger buffer when they are at least :data:`STREAM_THRESHOLD`
    long.
    """

    __slots__ = ("_items", "_number")

    def __init__(self, number: int) -> None:
        """Start the response for message sequence number ``number``."""
        self._number = number
        self._items: list[bytes | tuple[bytes, bytes | memoryview]] = []

    def item(self, name: bytes, value: bytes) -> FetchResponse:
        """Add ``name value`` with ``value`` already serialised (``number(5)``, ...)."""
        self._items.append(name + b" " + value)
        return self

    def content(
        self, name: bytes, payload: bytes | memoryview | None, *, binary: bool = False
    ) -> FetchResponse:
        """Add a section: ``name NIL``, ``name ""``, ``name {n}`` or ``name ~{n}`` (binary).

        Args:
            name: the item label, such as ``BODY[1.2]<0>``.
            payload: the content; ``None`` for NIL (RFC 9051 §4.5: absent part).
            binary: send a ``literal8`` (RFC 3516 §4.3; only for BINARY items).
        """
        if payload is None:
            self._items.append(name + b" NIL")
        elif not len(payload):
            self._items.append(name + b' ""')
        else:
            head = b"%s ~{%d}\r\n" if binary else b"%s {%d}\r\n"
            self._items.append((head % (name, len(payload)), payload))
        return self

    def pieces(self) -> list[bytes | memoryview]:
        """The response as a list of buffers to write in order (CRLF included)."""
        out: list[bytes | memoryview] = []
        buffer: list[bytes | memoryview] = [b"* %d FETCH (" % self._number]
        for index, entry in enumerate(self._items):
            if index:
                buffer.append(b" ")
            if isinstance(entry, bytes):
                buffer.append(entry)
                continue
            head, payload = entry
            buffer.append(head)
            if len(payload) >= STREAM_THRESHOLD:
                out.append(b"".join(buffer))
                out.append(payload)
                buffer = []
            else:
                buffer.append(payload)
        buffer.append(b")\r\n")
        out.append(b"".join(buffer))
        return out

    def to_bytes(self) -> bytes:
        """The whole response as one buffer (tests, small responses)."""
        return b"".join(self.pieces())
