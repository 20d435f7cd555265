"""Session states and the commands allowed in each (RFC 5804 §2).

Theory of operation: a session starts NONAUTH; AUTHENTICATE moves it to
AUTH; UNAUTHENTICATE (§2.14.1) moves it back; LOGOUT ends it. STARTTLS
keeps NONAUTH (§2.2).
"""

from __future__ import annotations

import enum
from typing import Final

from plugins.managesieve.proto import commands as c

__all__ = ["ALLOWED", "ANY", "State"]


class State(enum.Enum):
    NONAUTH = "nonauth"
    AUTH = "auth"


#: §4 command-any: valid in every state.
ANY: Final = frozenset({c.Capability, c.Logout, c.Noop})

#: §2: "Prior to successful authentication, only the AUTHENTICATE, CAPABILITY,
#: STARTTLS, LOGOUT, and NOOP commands are valid."
ALLOWED: Final[dict[State, frozenset[type]]] = {
    State.NONAUTH: ANY | {c.Authenticate, c.StartTls},
    State.AUTH: ANY
    | {
        c.HaveSpace,
        c.PutScript,
        c.CheckScript,
        c.ListScripts,
        c.SetActive,
        c.GetScript,
        c.DeleteScript,
        c.RenameScript,
        c.Unauthenticate,
    },
}
