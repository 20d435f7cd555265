"""The POP3 session states and the commands each allows.

Theory of operation (RFC 1939 §3): a session starts in AUTHORIZATION; a
successful PASS or AUTH that also locks the maildrop moves it to TRANSACTION;
QUIT from TRANSACTION moves it to UPDATE, where marked messages are removed and
the connection closes. QUIT from AUTHORIZATION, or any other end of the
connection, closes without UPDATE, so nothing is removed (RFC 1939 §6).
"""

from __future__ import annotations

import enum
from typing import Final

from plugins.pop3.proto.commands import (
    Apop,
    Auth,
    Capa,
    Dele,
    List,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
    Utf8,
)

__all__ = ["ALLOWED", "State"]


class State(enum.Enum):
    """Where a session is (RFC 1939 §3)."""

    AUTHORIZATION = "authorization"
    TRANSACTION = "transaction"
    UPDATE = "update"


#: Which commands each state accepts; any other gets ``-ERR`` (RFC 1939 §3: a
#: command in the wrong state gets a negative status indicator).
ALLOWED: Final[dict[State, frozenset[type]]] = {
    # RFC 2449 §5: CAPA in both states. RFC 2595 §4: STLS only in AUTHORIZATION.
    # RFC 6856 §2: UTF8 only in AUTHORIZATION. RFC 5034 §4: AUTH likewise.
    State.AUTHORIZATION: frozenset({Capa, Stls, Utf8, User, Pass, Apop, Auth, Quit}),
    # RFC 1939 §5, §7: the transaction commands, and QUIT.
    State.TRANSACTION: frozenset({Capa, Stat, List, Retr, Dele, Noop, Rset, Quit, Top, Uidl}),
    State.UPDATE: frozenset(),
}
