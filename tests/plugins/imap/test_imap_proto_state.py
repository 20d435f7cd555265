"""Commands allowed per connection state (plugins.imap.proto.state; RFC 9051 §3)."""

from __future__ import annotations

import typing

import pytest

from plugins.imap.proto import commands as c
from plugins.imap.proto.parser import parse_command
from plugins.imap.proto.state import ALLOWED, State, allowed

NA, AU, SE, LO = State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED, State.LOGOUT


def test_state_every_command_has_an_entry() -> None:
    assert set(ALLOWED) == set(typing.get_args(c.Command))


def test_state_nothing_is_valid_in_logout() -> None:
    assert all(LO not in states for states in ALLOWED.values())


@pytest.mark.parametrize(
    ("wire", "states"),
    [
        (b"a CAPABILITY", {NA, AU, SE}),
        (b"a NOOP", {NA, AU, SE}),
        (b"a LOGOUT", {NA, AU, SE}),
        (b"a ID NIL", {NA, AU, SE}),
        (b"a STARTTLS", {NA}),
        (b"a AUTHENTICATE PLAIN", {NA}),
        (b"a LOGIN u p", {NA}),
        (b"a ENABLE CONDSTORE", {AU}),
        (b"a SELECT INBOX", {AU, SE}),
        (b"a EXAMINE INBOX", {AU, SE}),
        (b"a CREATE x", {AU, SE}),
        (b"a DELETE x", {AU, SE}),
        (b"a RENAME x y", {AU, SE}),
        (b"a SUBSCRIBE x", {AU, SE}),
        (b"a UNSUBSCRIBE x", {AU, SE}),
        (b'a LIST "" *', {AU, SE}),
        (b'a LSUB "" *', {AU, SE}),
        (b"a NAMESPACE", {AU, SE}),
        (b"a STATUS x (MESSAGES)", {AU, SE}),
        (b"a APPEND x {1}\r\nm", {AU, SE}),
        (b"a IDLE", {AU, SE}),
        (b"a NOTIFY NONE", {AU, SE}),
        (b'a GETQUOTA ""', {AU, SE}),
        (b"a GETQUOTAROOT x", {AU, SE}),
        (b'a SETQUOTA "" ()', {AU, SE}),
        (b"a SETACL x u r", {AU, SE}),
        (b"a DELETEACL x u", {AU, SE}),
        (b"a GETACL x", {AU, SE}),
        (b"a LISTRIGHTS x u", {AU, SE}),
        (b"a MYRIGHTS x", {AU, SE}),
        (b'a GETMETADATA "" /shared/x', {AU, SE}),
        (b'a SETMETADATA "" (/shared/x NIL)', {AU, SE}),
        (b"a COMPRESS DEFLATE", {AU, SE}),
        (b"a CHECK", {SE}),
        (b"a CLOSE", {SE}),
        (b"a UNSELECT", {SE}),
        (b"a EXPUNGE", {SE}),
        (b"a UID EXPUNGE 1", {SE}),
        (b"a SEARCH ALL", {SE}),
        (b"a UID SEARCH ALL", {SE}),
        (b"a FETCH 1 FLAGS", {SE}),
        (b"a STORE 1 FLAGS ()", {SE}),
        (b"a COPY 1 x", {SE}),
        (b"a MOVE 1 x", {SE}),
        (b"a SORT (DATE) UTF-8 ALL", {SE}),
        (b"a THREAD REFERENCES UTF-8 ALL", {SE}),
    ],
)
def test_state_allowed(wire: bytes, states: set[State]) -> None:
    cmd = parse_command(wire)
    for state in State:
        assert allowed(cmd, state) == (state in states), state
