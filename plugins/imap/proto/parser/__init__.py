"""The IMAP command grammar: one complete command's bytes to a :mod:`commands` dataclass.

    command         = tag SP (command-any / command-auth / command-nonauth /
                      command-select) CRLF
    tag             = 1*<any ASTRING-CHAR except "+">
    uid             = "UID" SP (copy / move / fetch / search / store / uid-expunge)
                      ; plus sort / thread (RFC 5256)

:func:`parse_command` is the entry point the receiver calls; it dispatches on the
command name to one module per command group (STYLE.md §1.2). Whether a command is
allowed in the current state is not its business (see :mod:`plugins.imap.proto.state`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from plugins.imap.proto.commands import Command
from plugins.imap.proto.parser import (
    acl,
    append,
    auth,
    copy,
    fetch,
    list,
    mailbox,
    metadata,
    notify,
    quota,
    search,
    simple,
    sort,
    store,
)
from plugins.imap.proto.parser.core import ParseError, Reader

__all__ = ["COMMAND_NAMES", "UID_COMMAND_NAMES", "ParseError", "parse_command", "parse_tag"]

_Parser = Callable[[Reader, str], Command]
_UidParser = Callable[[Reader, str, bool], Command]

_TAG = re.compile(rb'[^(){ %*"\\+\x00-\x1f\x7f-\xff]+')


def _no_args(name: str) -> _Parser:
    return lambda r, tag: simple.parse_no_arguments(r, tag, name)


_COMMANDS: Final[dict[str, _Parser]] = {
    **{name: _no_args(name) for name in simple.NO_ARGUMENTS},
    "ID": simple.parse_id,
    "ENABLE": simple.parse_enable,
    "COMPRESS": simple.parse_compress,
    "AUTHENTICATE": auth.parse_authenticate,
    "LOGIN": auth.parse_login,
    "SELECT": lambda r, tag: mailbox.parse_select(r, tag, "SELECT"),
    "EXAMINE": lambda r, tag: mailbox.parse_select(r, tag, "EXAMINE"),
    "CREATE": mailbox.parse_create,
    "DELETE": mailbox.parse_delete,
    "RENAME": mailbox.parse_rename,
    "SUBSCRIBE": mailbox.parse_subscribe,
    "UNSUBSCRIBE": mailbox.parse_unsubscribe,
    "STATUS": mailbox.parse_status,
    "LIST": list.parse_list,
    "LSUB": list.parse_lsub,
    "APPEND": append.parse_append,
    "NOTIFY": notify.parse_notify,
    "CANCELUPDATE": search.parse_cancelupdate,
    "GETQUOTA": quota.parse_getquota,
    "GETQUOTAROOT": quota.parse_getquotaroot,
    "SETQUOTA": quota.parse_setquota,
    "SETACL": acl.parse_setacl,
    "DELETEACL": acl.parse_deleteacl,
    "GETACL": acl.parse_getacl,
    "LISTRIGHTS": acl.parse_listrights,
    "MYRIGHTS": acl.parse_myrights,
    "GETMETADATA": metadata.parse_getmetadata,
    "SETMETADATA": metadata.parse_setmetadata,
}

# Commands that exist with and without the UID prefix.
_SEQUENCE_COMMANDS: Final[dict[str, _UidParser]] = {
    "FETCH": fetch.parse_fetch,
    "STORE": store.parse_store,
    "COPY": lambda r, tag, uid: copy.parse_copy(r, tag, uid, "COPY"),
    "MOVE": lambda r, tag, uid: copy.parse_copy(r, tag, uid, "MOVE"),
    "SEARCH": search.parse_search,
    "SORT": sort.parse_sort,
    "THREAD": sort.parse_thread,
}

#: Every command name the parser knows (``UID`` included).
COMMAND_NAMES: Final = frozenset({*_COMMANDS, *_SEQUENCE_COMMANDS, "UID"})
#: The names that may follow ``UID``.
UID_COMMAND_NAMES: Final = frozenset({*_SEQUENCE_COMMANDS, "EXPUNGE"})


def parse_tag(data: bytes | bytearray) -> str | None:
    """The tag at the start of ``data`` if it is a valid tag followed by SP or the end."""
    m = _TAG.match(data)
    if m is None or (m.end() < len(data) and data[m.end()] != 0x20):
        return None
    return m.group().decode("ascii")


def parse_command(data: bytes | bytearray, *, utf8: bool = False) -> Command:
    """Parse one complete command (no final CRLF).

    Args:
      data: the command as the receiver assembled it.
      utf8: UTF-8 is allowed in quoted strings (UTF8=ACCEPT / IMAP4rev2).

    Returns:
      The command dataclass.

    Raises:
      ParseError: the command does not match the grammar (``.tag`` set when known).
    """
    tag = parse_tag(data)
    try:
        if tag is None:
            raise ParseError("missing or invalid tag")
        r = Reader(data, utf8=utf8)
        r.pos = len(tag)
        r.sp()
        name = r.peek_keyword()
        if not name:
            raise r.error("missing command name")
        r.pos += len(name)
        if name == "UID":
            r.sp()
            sub = r.keyword()
            if sub == "EXPUNGE":
                return simple.parse_uid_expunge(r, tag)
            uid_parser = _SEQUENCE_COMMANDS.get(sub)
            if uid_parser is None:
                raise r.error(f"UID {sub} is not a command")
            return uid_parser(r, tag, True)
        seq_parser = _SEQUENCE_COMMANDS.get(name)
        if seq_parser is not None:
            return seq_parser(r, tag, False)
        parser = _COMMANDS.get(name)
        if parser is None:
            raise ParseError(f"unknown command {name[:32]}")
        return parser(r, tag)
    except ParseError as e:
        e.tag = tag
        raise
