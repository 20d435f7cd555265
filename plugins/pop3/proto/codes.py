"""POP3 extended response codes (RFC 2449 §8), as named constants.

A code is sent in square brackets at the start of a reply's text
(``-ERR [IN-USE] ...``); the ``RESP-CODES`` capability announces that every
bracketed text is one (RFC 2449 §6.4).
"""

from __future__ import annotations

from typing import Final

__all__ = ["AUTH", "IN_USE", "LOGIN_DELAY", "SYS_PERM", "SYS_TEMP", "UTF8"]

# RFC 2449 §8.1.1: the user logged in too recently (LOGIN-DELAY capability).
LOGIN_DELAY: Final = "LOGIN-DELAY"
# RFC 2449 §8.1.2: authentication succeeded but the maildrop is locked by another session.
IN_USE: Final = "IN-USE"
# From the POP3 response-code registry (RFC 2449 §9; see docs/pop3.md for the
# defining document): a temporary system problem, retry later without asking the
# user anything...
SYS_TEMP: Final = "SYS/TEMP"
# ...a permanent one that retrying will not fix...
SYS_PERM: Final = "SYS/PERM"
# ...and a problem with the credentials themselves (the AUTH-RESP-CODE capability
# promises this code on every such failure).
AUTH: Final = "AUTH"
# RFC 6856 §5: the message needs UTF-8 mode, which the client did not enable.
UTF8: Final = "UTF8"
