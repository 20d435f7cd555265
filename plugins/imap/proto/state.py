"""Which commands are valid in which connection state (RFC 9051 §3, §6; RFC 3501 §3).

Theory of operation (RFC 9051 §3): a connection starts not authenticated (or
authenticated after a PREAUTH greeting); LOGIN or AUTHENTICATE moves it to
authenticated; a successful SELECT or EXAMINE to selected; CLOSE, UNSELECT or a failed
SELECT back to authenticated; LOGOUT (or the server's BYE) to logout from any state.

The table lists each command class with its states. The session checks
``allowed(cmd, state)`` before dispatching and answers BAD otherwise (RFC 9051 §3:
"It is a protocol error for the client to attempt a command while the connection is
in an inappropriate state"); whether an *extension* command is advertised (and so
allowed at all) is the session's decision too.

Implementation notes: ENABLE is valid only in the authenticated state, not once a
mailbox is selected (RFC 9051 §6.3.1; RFC 5161 §3.1), although the ABNF lists it under
``command-auth``. ID is valid in any state (RFC 2971 §3.1). COMPRESS is ``command-auth``
(RFC 4978 §5), so it is not accepted before authentication. Nothing is valid in the
logout state.
"""

from __future__ import annotations

import enum
from typing import Final

from plugins.imap.proto import commands as c

__all__ = ["ALLOWED", "State", "allowed"]


@enum.unique
class State(enum.Enum):
    """The four connection states of RFC 9051 §3."""

    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


_ANY: Final = frozenset({State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED})
_NONAUTH: Final = frozenset({State.NOT_AUTHENTICATED})
_AUTH: Final = frozenset({State.AUTHENTICATED, State.SELECTED})
_SELECTED: Final = frozenset({State.SELECTED})

#: Command class to the states in which it is valid.
ALLOWED: Final[dict[type, frozenset[State]]] = {
    # RFC 9051 §6.1: command-any.
    c.Capability: _ANY,
    c.Noop: _ANY,
    c.Logout: _ANY,
    # RFC 2971 §3.1: "This command is valid in any state."
    c.Id: _ANY,
    # RFC 9051 §6.2: command-nonauth.
    c.StartTls: _NONAUTH,
    c.Authenticate: _NONAUTH,
    c.Login: _NONAUTH,
    # RFC 9051 §6.3.1; RFC 5161 §3.1: before any mailbox is selected.
    c.Enable: frozenset({State.AUTHENTICATED}),
    # RFC 9051 §6.3: command-auth (authenticated or selected).
    c.Select: _AUTH,
    c.Examine: _AUTH,
    c.Create: _AUTH,
    c.Delete: _AUTH,
    c.Rename: _AUTH,
    c.Subscribe: _AUTH,
    c.Unsubscribe: _AUTH,
    c.List: _AUTH,
    c.Lsub: _AUTH,  # RFC 3501 §6.3.9
    c.Namespace: _AUTH,  # RFC 2342 §5
    c.Status: _AUTH,
    c.Append: _AUTH,
    c.Idle: _AUTH,  # RFC 2177 §4
    c.Notify: _AUTH,  # RFC 5465 §8
    c.GetQuota: _AUTH,  # RFC 9208 §7
    c.GetQuotaRoot: _AUTH,
    c.SetQuota: _AUTH,
    c.SetAcl: _AUTH,  # RFC 4314 §7
    c.DeleteAcl: _AUTH,
    c.GetAcl: _AUTH,
    c.ListRights: _AUTH,
    c.MyRights: _AUTH,
    c.GetMetadata: _AUTH,  # RFC 5464 §5
    c.SetMetadata: _AUTH,
    c.Compress: _AUTH,  # RFC 4978 §5
    # RFC 9051 §6.4: command-select.
    c.Check: _SELECTED,  # RFC 3501 §6.4.1
    c.Close: _SELECTED,
    c.Unselect: _SELECTED,  # RFC 3691 §4
    c.Expunge: _SELECTED,
    c.UidExpunge: _SELECTED,  # RFC 4315 §4
    c.Search: _SELECTED,
    c.Fetch: _SELECTED,
    c.Store: _SELECTED,
    c.Copy: _SELECTED,
    c.Move: _SELECTED,  # RFC 6851 §5
    c.Sort: _SELECTED,  # RFC 5256 §3
    c.Thread: _SELECTED,
    c.CancelUpdate: _SELECTED,  # RFC 5267 §5: command-select
}


def allowed(command: c.Command, state: State) -> bool:
    """Whether ``command`` may be issued in ``state`` (RFC 9051 §3)."""
    return state in ALLOWED[type(command)]
