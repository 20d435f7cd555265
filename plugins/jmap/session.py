"""The JMAP Session resource (RFC 8620 §2) and the capability objects in it.

URLs are absolute: ``jmap.base_url`` when configured, else the request's
scheme and Host (§2: "apiUrl ... MUST be an absolute URL"; the URI templates
use the RFC 6570 level 1 variables of §2). ``state`` is a digest of everything
else, so it changes exactly when the session object does (§2 "state").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from plugins.jmap.accounts import Account, User
from plugins.jmap.capabilities import CORE, MAIL, SIEVE, SUBMISSION, WEBSOCKET
from plugins.jmap.mail.email_set import MAX_ATTACHMENTS_SIZE
from plugins.jmap.mail.submission_view import MAX_DELAYED_SEND
from plugins.jmap.sieve.script_compile import sieve_server_capability
from plugins.jmap.standard import COLLATIONS

if TYPE_CHECKING:
    from plugins.jmap.config import JmapSettings

__all__ = [
    "API_PATH",
    "DOWNLOAD_PATH",
    "EVENTSOURCE_PATH",
    "SESSION_PATH",
    "UPLOAD_PATH",
    "WEBSOCKET_PATH",
    "build_session",
    "mail_account_capability",
    "server_capabilities",
    "session_state",
    "submission_account_capability",
]

SESSION_PATH = "/.well-known/jmap"
API_PATH = "/jmap/api/"
UPLOAD_PATH = "/jmap/upload/{accountId}/"
DOWNLOAD_PATH = "/jmap/download/{accountId}/{blobId}/{name}?accept={type}"
EVENTSOURCE_PATH = "/jmap/eventsource/?types={types}&closeafter={closeafter}&ping={ping}"
WEBSOCKET_PATH = "/jmap/ws"

_DEFAULT_SORT = ("receivedAt", "sentAt", "size", "from", "to", "subject")


def _email_sort_options() -> list[str]:
    try:
        from plugins.jmap.mail.email_query_filter import SORT_PROPERTIES
    except ImportError:  # the Email methods are not there (yet)
        return list(_DEFAULT_SORT)
    return list(SORT_PROPERTIES)


def core_capability(settings: JmapSettings) -> dict[str, Any]:
    """The ``urn:ietf:params:jmap:core`` session capability (§2 limits)."""
    return {
        "maxSizeUpload": settings.max_size_upload,
        "maxConcurrentUpload": settings.max_concurrent_upload,
        "maxSizeRequest": settings.max_size_request,
        "maxConcurrentRequests": settings.max_concurrent_requests,
        "maxCallsInRequest": settings.max_calls_in_request,
        "maxObjectsInGet": settings.max_objects_in_get,
        "maxObjectsInSet": settings.max_objects_in_set,
        "collationAlgorithms": list(COLLATIONS),
    }


def mail_account_capability(account: Account) -> dict[str, Any]:
    """The ``urn:ietf:params:jmap:mail`` account capability (RFC 8621 §1.3.1)."""
    return {
        "maxMailboxesPerEmail": None,
        "maxMailboxDepth": None,
        "maxSizeMailboxName": 255,
        "maxSizeAttachmentsPerEmail": MAX_ATTACHMENTS_SIZE,
        "emailQuerySortOptions": _email_sort_options(),
        "mayCreateTopLevelMailbox": account.is_personal,
    }


def submission_account_capability() -> dict[str, Any]:
    """The ``urn:ietf:params:jmap:submission`` account capability (RFC 8621 §1.3.2):
    delayed sends through RFC 4865 FUTURERELEASE (``HOLDFOR``/``HOLDUNTIL``)."""
    return {
        "maxDelayedSend": MAX_DELAYED_SEND,
        "submissionExtensions": {"FUTURERELEASE": [str(MAX_DELAYED_SEND)]},
    }


def server_capabilities(
    settings: JmapSettings, registered: frozenset[str], base: str
) -> dict[str, Any]:
    """Every capability the server supports, with its session-level object."""
    ws_base = "wss" + base[5:] if base.startswith("https") else "ws" + base[4:]
    capabilities: dict[str, Any] = {
        CORE: core_capability(settings),
        WEBSOCKET: {"url": ws_base + WEBSOCKET_PATH, "supportsPush": True},
    }
    for capability in sorted(registered - {CORE}):
        capabilities[capability] = {}
    if SIEVE in registered:
        capabilities[SIEVE] = sieve_server_capability()
    return capabilities


def _account_capabilities(
    account: Account, registered: frozenset[str], personal: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if MAIL in registered:
        out[MAIL] = mail_account_capability(account)
    if account.is_personal:
        for capability in sorted(registered - {CORE, MAIL}):
            out[capability] = dict(personal.get(capability, {}))
        if SUBMISSION in registered:
            out[SUBMISSION] = submission_account_capability()
    return out


def build_session(
    user: User,
    accounts: dict[int, Account],
    settings: JmapSettings,
    registered: frozenset[str],
    base: str,
    personal: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The Session object for ``user`` (§2), URLs under ``base`` (scheme://host[:port]);
    ``personal`` holds account capability objects that depend on configuration
    (e.g. RFC 9661's Sieve limits), given to the user's own account."""
    own = accounts[user.id]
    account_objects = {
        account.jmap_id: {
            "name": account.name,
            "isPersonal": account.is_personal,
            "isReadOnly": account.read_only,
            "accountCapabilities": _account_capabilities(account, registered, personal or {}),
        }
        for account in accounts.values()
    }
    capabilities = server_capabilities(settings, registered, base)
    primary = {c: own.jmap_id for c in capabilities if c != WEBSOCKET}
    session: dict[str, Any] = {
        "capabilities": capabilities,
        "accounts": account_objects,
        "primaryAccounts": primary,
        "username": user.name,
        "apiUrl": base + API_PATH,
        "downloadUrl": base + DOWNLOAD_PATH,
        "uploadUrl": base + UPLOAD_PATH,
        "eventSourceUrl": base + EVENTSOURCE_PATH,
    }
    session["state"] = session_state(session)
    return session


def session_state(session: dict[str, Any]) -> str:
    """The session's ``state``: a digest of what does not depend on the URL base (so
    the API's ``sessionState`` equals it whatever Host the client used)."""
    stable = {
        "accounts": session["accounts"],
        "primaryAccounts": session["primaryAccounts"],
        "username": session["username"],
        "capabilities": sorted(session["capabilities"]),
        "core": session["capabilities"].get(CORE),
    }
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:16]
