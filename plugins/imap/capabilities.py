"""What the server advertises in CAPABILITY (RFC 9051 §7.2.2), by connection state.

Only what is implemented fully is listed (docs/imap.md has the compliance table).
Before login the list adds STARTTLS (when the listener offers it and TLS is not on
yet), LOGINDISABLED (when a password may not be sent in clear, RFC 9051 §6.2.3) and
the SASL mechanisms allowed now (``AUTH=``, RFC 9051 §6.2.2); after login those go.
"""

from __future__ import annotations

from typing import Final

from kernel.login import plaintext_login_allowed, sasl_mechanisms
from plugins.imap.context import Session, State

__all__ = ["ENABLEABLE", "EXTENSIONS", "capabilities"]

#: Extensions advertised in every state, in a stable order.
EXTENSIONS: Final = (
    "IMAP4rev1",  # RFC 3501
    "IMAP4rev2",  # RFC 9051
    "LITERAL+",  # RFC 7888
    "SASL-IR",  # RFC 4959
    "ENABLE",  # RFC 5161
    "IDLE",  # RFC 2177
    "NAMESPACE",  # RFC 2342
    "ID",  # RFC 2971
    "UIDPLUS",  # RFC 4315
    "MOVE",  # RFC 6851
    "UNSELECT",  # RFC 3691
    "CHILDREN",  # RFC 3348
    "LIST-EXTENDED",  # RFC 5258
    "LIST-STATUS",  # RFC 5819
    "SPECIAL-USE",  # RFC 6154
    "CREATE-SPECIAL-USE",  # RFC 6154 §3
    "CONDSTORE",  # RFC 7162
    "QRESYNC",  # RFC 7162
    "ESEARCH",  # RFC 4731
    "SEARCHRES",  # RFC 5182
    "WITHIN",  # RFC 5032
    "UTF8=ACCEPT",  # RFC 6855
    "MULTIAPPEND",  # RFC 3502
    "BINARY",  # RFC 3516
    "STATUS=SIZE",  # RFC 8438
    "OBJECTID",  # RFC 8474
    "PREVIEW",  # RFC 8970
    "SORT",  # RFC 5256
    "SORT=DISPLAY",  # RFC 5957
    "ESORT",  # RFC 5267
    "CONTEXT=SEARCH",  # RFC 5267 §4
    "CONTEXT=SORT",  # RFC 5267 §4
    "THREAD=ORDEREDSUBJECT",  # RFC 5256
    "THREAD=REFERENCES",  # RFC 5256
    "QUOTA",  # RFC 9208
    "QUOTA=RES-STORAGE",  # RFC 9208 §5.1
    "QUOTA=RES-MESSAGE",  # RFC 9208 §5.2
    "ACL",  # RFC 4314
    "RIGHTS=kxte",  # RFC 4314 §2.1.1
    "METADATA",  # RFC 5464
    "METADATA-SERVER",  # RFC 5464
    "LIST-METADATA",  # RFC 9590
    "NOTIFY",  # RFC 5465
    "COMPRESS=DEFLATE",  # RFC 4978
)

#: What ``ENABLE`` can turn on (RFC 5161 §3.1; RFC 9051 §6.3.1; RFC 7162; RFC 6855).
ENABLEABLE: Final = frozenset({"IMAP4REV2", "CONDSTORE", "QRESYNC", "UTF8=ACCEPT"})


def capabilities(session: Session) -> list[str]:
    """The capability list for ``session`` as it is now."""
    out = list(EXTENSIONS)
    out.append(f"APPENDLIMIT={session.config.append_limit}")  # RFC 7889 §3
    if session.state is State.NOT_AUTHENTICATED:
        conn = session.conn
        if conn.can_start_tls:
            out.append("STARTTLS")  # RFC 9051 §6.2.1
        if not plaintext_login_allowed(conn):
            out.append("LOGINDISABLED")  # RFC 9051 §6.2.3
        out += [f"AUTH={name}" for name in sasl_mechanisms(conn)]
    return out
