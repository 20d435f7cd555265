"""Response codes (RFC 5804 §1.3) and the fixed responses the ops send.

Each constant cites the section that defines its use; ops never spell reply
texts themselves (STYLE.md §1.6).
"""

from __future__ import annotations

from typing import Final

from plugins.managesieve.proto.responses import Response

# ---- response codes (RFC 5804 §1.3) ---------------------------------------------

#: §1.3: "site security policy requires ... a strong encryption mechanism".
ENCRYPT_NEEDED: Final = "ENCRYPT-NEEDED"
#: §1.3, §1.5: over the quota; the detailed variants name which one.
QUOTA: Final = "QUOTA"
QUOTA_MAXSCRIPTS: Final = "QUOTA/MAXSCRIPTS"
QUOTA_MAXSIZE: Final = "QUOTA/MAXSIZE"
#: §1.3: the final SASL server data in the OK of AUTHENTICATE.
SASL: Final = "SASL"
#: §1.3: a temporary server failure.
TRYLATER: Final = "TRYLATER"
#: §1.3, §2.10: not allowed on the active script.
ACTIVE: Final = "ACTIVE"
#: §1.3: no script by that name.
NONEXISTENT: Final = "NONEXISTENT"
#: §1.3, §2.11: a script by that name exists.
ALREADYEXISTS: Final = "ALREADYEXISTS"
#: §1.3, §2.6: the script is valid but may not do what the author meant.
WARNINGS: Final = "WARNINGS"
#: §1.3, §2.13: echoes NOOP's argument.
TAG: Final = "TAG"

# ---- fixed responses ------------------------------------------------------------

OK: Final = Response("OK")
CAPABILITY_DONE: Final = Response("OK", text="Capability completed")
#: §2.3: "The server MUST reply with an OK response."
LOGOUT_DONE: Final = Response("OK", text="Logout completed")
NOOP_DONE: Final = Response("OK", text="NOOP completed")
STARTTLS_GO: Final = Response("OK", text="Begin TLS negotiation now")
STARTTLS_UNAVAILABLE: Final = Response("NO", text="STARTTLS is not available")
AUTH_DONE: Final = Response("OK", text="Authentication successful")
UNAUTH_DONE: Final = Response("OK", text="Unauthenticated")
PUT_DONE: Final = Response("OK", text="Script stored")
CHECK_DONE: Final = Response("OK", text="Script is valid")
HAVESPACE_DONE: Final = Response("OK", text="Putscript would succeed")
SETACTIVE_DONE: Final = Response("OK", text="Active script set")
DEACTIVATED: Final = Response("OK", text="Sieve processing disabled")
DELETE_DONE: Final = Response("OK", text="Script deleted")
RENAME_DONE: Final = Response("OK", text="Script renamed")
LIST_DONE: Final = Response("OK", text="Listscripts completed")
GET_DONE: Final = Response("OK", text="Getscript completed")

#: §2: "Servers MUST reject all other commands with a NO response."
NEED_AUTH: Final = Response("NO", text="Authenticate first")
#: §2.1: "a server MUST reject any further AUTHENTICATE commands with a NO reply".
ALREADY_AUTHENTICATED: Final = Response("NO", text="Already authenticated")
#: §2.14.1: UNAUTHENTICATE "is only valid in authenticated state".
NOT_AUTHENTICATED: Final = Response("NO", text="Not authenticated")
UNKNOWN_COMMAND: Final = Response("NO", text="Unknown command")
UNKNOWN_MECHANISM: Final = Response("NO", text="Unsupported SASL mechanism")
#: §1.3 ENCRYPT-NEEDED: the mechanism would send a password in the clear.
MECHANISM_NEEDS_TLS: Final = Response(
    "NO", ENCRYPT_NEEDED, text="This mechanism requires TLS; use STARTTLS first"
)
#: §2.1: "If the client wishes to cancel ... the server MUST reject the AUTHENTICATE command".
AUTH_CANCELLED: Final = Response("NO", text="Authentication cancelled")
AUTH_FAILED: Final = Response("NO", text="Authentication failed")
AUTH_TEMPORARY: Final = Response("NO", TRYLATER, text="Authentication temporarily unavailable")
BAD_BASE64: Final = Response("NO", text="Invalid base64 in the initial response")
#: §1.2: BYE "because ... there were too many failed authentication attempts".
TOO_MANY_FAILURES: Final = Response("BYE", text="Too many failed authentication attempts")
#: §1.2: BYE "because the client was idle for too long".
IDLE_TIMEOUT: Final = Response("BYE", text="Disconnected for inactivity")
SHUTTING_DOWN: Final = Response("BYE", TRYLATER, text="Server shutting down")
TOO_MANY_ERRORS: Final = Response("BYE", text="Too many invalid commands")
COMPILE_TIMEOUT: Final = Response("NO", TRYLATER, text="The script took too long to check")
STORE_UNAVAILABLE: Final = Response("NO", TRYLATER, text="Script storage unavailable, try later")

NO_SUCH_SCRIPT: Final = Response("NO", NONEXISTENT, text="There is no script by that name")
SCRIPT_EXISTS: Final = Response("NO", ALREADYEXISTS, text="A script by that name already exists")
#: §2.10: "The server MUST NOT allow the client to delete an active script".
DELETE_ACTIVE: Final = Response("NO", ACTIVE, text="You may not delete the active script")
TOO_MANY_SCRIPTS: Final = Response("NO", QUOTA_MAXSCRIPTS, text="Too many scripts")
SCRIPT_TOO_LARGE: Final = Response("NO", QUOTA_MAXSIZE, text="Script is too large")
#: §2.6: "A script of zero length SHOULD be disallowed."
EMPTY_SCRIPT: Final = Response("NO", text="Empty scripts are not allowed")
