"""IMAP status words and response codes as named constants, each citing its RFC section.

A response code is the text between ``[`` and ``]`` in a status response (RFC 9051 §7.1).
Constants hold the code's name, or its full text where it is fixed
(:data:`BADCHARSET_SUPPORTED`); codes with arguments (``UIDNEXT 42``) are built by the
response serialiser from the name.

Use these instead of string literals in ``ops/`` (STYLE.md §1.6).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALERT",
    "ALREADYEXISTS",
    "APPENDUID",
    "AUTHENTICATIONFAILED",
    "AUTHORIZATIONFAILED",
    "BAD",
    "BADCHARSET",
    "BADCHARSET_SUPPORTED",
    "BADEVENT",
    "BYE",
    "CANNOT",
    "CAPABILITY",
    "CLIENTBUG",
    "CLOSED",
    "COMPRESSIONACTIVE",
    "CONTACTADMIN",
    "COPYUID",
    "CORRUPTION",
    "EXPIRED",
    "EXPUNGEISSUED",
    "HASCHILDREN",
    "HIGHESTMODSEQ",
    "INUSE",
    "LIMIT",
    "MAILBOXID",
    "METADATA",
    "MODIFIED",
    "NO",
    "NOMODSEQ",
    "NONEXISTENT",
    "NOPERM",
    "NOTIFICATIONOVERFLOW",
    "NOTSAVED",
    "NOUPDATE",
    "OK",
    "OVERQUOTA",
    "PARSE",
    "PERMANENTFLAGS",
    "PREAUTH",
    "PRIVACYREQUIRED",
    "READ_ONLY",
    "READ_WRITE",
    "SERVERBUG",
    "TOOBIG",
    "TRYCREATE",
    "UIDNEXT",
    "UIDNOTSTICKY",
    "UIDVALIDITY",
    "UNAVAILABLE",
    "UNKNOWN_CTE",
    "USEATTR",
]

# ------------------------------------------------------------------ status words

#: RFC 9051 §7.1.1: success.
OK: Final = "OK"
#: RFC 9051 §7.1.2: operational error.
NO: Final = "NO"
#: RFC 9051 §7.1.3: protocol-level (syntax) error.
BAD: Final = "BAD"
#: RFC 9051 §7.1.4: greeting of an already-authenticated connection.
PREAUTH: Final = "PREAUTH"
#: RFC 9051 §7.1.5: the server is closing the connection.
BYE: Final = "BYE"

# ------------------------------------------------------------ RFC 9051 §7.1 codes

#: RFC 9051 §7.1: a message the client must show the user.
ALERT: Final = "ALERT"
#: RFC 9051 §7.1: the mailbox (or other object) already exists.
ALREADYEXISTS: Final = "ALREADYEXISTS"
#: RFC 9051 §7.1 (RFC 4315 §3): ``APPENDUID uidvalidity uid-set``.
APPENDUID: Final = "APPENDUID"
#: RFC 9051 §7.1: authentication failed for some reason the server won't explain.
AUTHENTICATIONFAILED: Final = "AUTHENTICATIONFAILED"
#: RFC 9051 §7.1: authenticated, but not allowed to act as the authorization identity.
AUTHORIZATIONFAILED: Final = "AUTHORIZATIONFAILED"
#: RFC 9051 §7.1: the SEARCH charset is not supported; may list the supported ones.
BADCHARSET: Final = "BADCHARSET"
#: RFC 9051 §6.4.4, §7.1: BADCHARSET listing the charsets we support.
BADCHARSET_SUPPORTED: Final = "BADCHARSET (US-ASCII UTF-8)"
#: RFC 9051 §7.1: the operation violates a server invariant and can never succeed.
CANNOT: Final = "CANNOT"
#: RFC 9051 §7.1: ``CAPABILITY ...`` in a greeting or a LOGIN/AUTHENTICATE OK.
CAPABILITY: Final = "CAPABILITY"
#: RFC 9051 §7.1: the server detected a client bug.
CLIENTBUG: Final = "CLIENTBUG"
#: RFC 9051 §7.1 (RFC 7162 §3.2.11): the previously selected mailbox is now closed.
CLOSED: Final = "CLOSED"
#: RFC 9051 §7.1: the user should contact the administrator.
CONTACTADMIN: Final = "CONTACTADMIN"
#: RFC 9051 §7.1 (RFC 4315 §3): ``COPYUID uidvalidity source-set dest-set``.
COPYUID: Final = "COPYUID"
#: RFC 9051 §7.1: relevant data are corrupt.
CORRUPTION: Final = "CORRUPTION"
#: RFC 9051 §7.1: the credentials have expired.
EXPIRED: Final = "EXPIRED"
#: RFC 9051 §7.1: someone else expunged messages in this mailbox.
EXPUNGEISSUED: Final = "EXPUNGEISSUED"
#: RFC 9051 §7.1: DELETE refused because the mailbox has children.
HASCHILDREN: Final = "HASCHILDREN"
#: RFC 9051 §7.1: a mailbox is in use (locked) by someone else.
INUSE: Final = "INUSE"
#: RFC 9051 §7.1: an implementation limit was hit.
LIMIT: Final = "LIMIT"
#: RFC 9051 §7.1: the target does not exist.
NONEXISTENT: Final = "NONEXISTENT"
#: RFC 9051 §7.1: access control denies the operation.
NOPERM: Final = "NOPERM"
#: RFC 9051 §7.1: the message is not saved (e.g. an unsupported search result save).
NOTSAVED: Final = "NOTSAVED"
#: RFC 9051 §7.1: the user is (or would be) over quota.
OVERQUOTA: Final = "OVERQUOTA"
#: RFC 9051 §7.1: an error parsing a *message's* header or MIME structure (not a command).
PARSE: Final = "PARSE"
#: RFC 9051 §7.1: ``PERMANENTFLAGS (...)``: the flags the client can change permanently.
PERMANENTFLAGS: Final = "PERMANENTFLAGS"
#: RFC 9051 §7.1: the operation needs a confidential (TLS) connection.
PRIVACYREQUIRED: Final = "PRIVACYREQUIRED"
#: RFC 9051 §7.1: the mailbox is selected read-only.
READ_ONLY: Final = "READ-ONLY"
#: RFC 9051 §7.1: the mailbox is selected read-write.
READ_WRITE: Final = "READ-WRITE"
#: RFC 9051 §7.1: the server hit a bug of its own.
SERVERBUG: Final = "SERVERBUG"
#: RFC 9051 §7.1: the target mailbox of APPEND/COPY/MOVE does not exist.
TRYCREATE: Final = "TRYCREATE"
#: RFC 9051 §7.1: ``UIDNEXT n``.
UIDNEXT: Final = "UIDNEXT"
#: RFC 9051 §7.1: the mailbox cannot keep UIDs across sessions.
UIDNOTSTICKY: Final = "UIDNOTSTICKY"
#: RFC 9051 §7.1: ``UIDVALIDITY n``.
UIDVALIDITY: Final = "UIDVALIDITY"
#: RFC 9051 §7.1: a subsystem is temporarily down.
UNAVAILABLE: Final = "UNAVAILABLE"
#: RFC 9051 §7.1 (RFC 3516 §4.3): BINARY of a part with an unknown transfer encoding.
UNKNOWN_CTE: Final = "UNKNOWN-CTE"

# ------------------------------------------------------------- extension codes

#: RFC 7888 §5; RFC 7889 §4: a literal (or message) over the server's limit.
TOOBIG: Final = "TOOBIG"
#: RFC 7162 §3.1.2.1: ``HIGHESTMODSEQ n`` in the SELECT/EXAMINE OK.
HIGHESTMODSEQ: Final = "HIGHESTMODSEQ"
#: RFC 7162 §3.1.2.2: the mailbox does not support mod-sequences.
NOMODSEQ: Final = "NOMODSEQ"
#: RFC 7162 §3.1.3: ``MODIFIED set``: STORE UNCHANGEDSINCE failed for these messages.
MODIFIED: Final = "MODIFIED"
#: RFC 8474 §4.1: ``MAILBOXID (id)`` in a CREATE OK.
MAILBOXID: Final = "MAILBOXID"
#: RFC 5464 §4.2.1, §4.3: ``METADATA LONGENTRIES n`` / ``MAXSIZE n`` / ``TOOMANY`` / ``NOPRIVATE``.
METADATA: Final = "METADATA"
#: RFC 5465 §3.1: ``BADEVENT (...)``: NOTIFY asked for unsupported events.
BADEVENT: Final = "BADEVENT"
#: RFC 5465 §5.8: the server dropped notifications and stopped sending them.
NOTIFICATIONOVERFLOW: Final = "NOTIFICATIONOVERFLOW"
#: RFC 5267 §4.3.1: ``NOUPDATE "tag"``: no update context for that searching command.
NOUPDATE: Final = "NOUPDATE"
#: RFC 4978 §3: NO because compression is already active on another layer.
COMPRESSIONACTIVE: Final = "COMPRESSIONACTIVE"
#: RFC 6154 §3: CREATE USE refused for that special-use attribute.
USEATTR: Final = "USEATTR"
