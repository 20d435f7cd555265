"""Email/set (RFC 8621 §4.6): create (drafts from JMAP properties), update (keywords and
mailboxIds, whole or by patch path) and destroy.

Implementation notes:

- Create builds the RFC 5322 bytes with :mod:`plugins.jmap.mail.email_build` and appends
  them like any delivery, so IMAP sees the new message at once. ``created`` holds ``id``,
  ``blobId``, ``threadId`` and ``size`` (§4.6).
- Update accepts ``keywords``, ``keywords/{k}``, ``mailboxIds`` and ``mailboxIds/{id}``
  (RFC 8620 §5.3 patch paths, ``~1``/``~0`` unescaped); everything else is immutable
  (``invalidProperties``). Keyword and mailbox changes commit in one transaction.
- In a shared account, create and adding to a mailbox need the RFC 4314 ``i`` right there,
  keyword changes ``w`` (``s`` for ``$seen``), removal from a mailbox ``e``/``t``.
"""

from __future__ import annotations

import re
import time
from typing import Any, Final

import trio

from kernel.errors import NoSuchItem, PreconditionFailed, QuotaExceeded
from plugins.jmap.blobs import blob_id_for_hash
from plugins.jmap.capabilities import MAIL
from plugins.jmap.ids import EMAIL, MAILBOX, THREAD, decode_id, encode_id
from plugins.jmap.mail.email_access import (
    message_domain,
    read_any_blob,
    readable_mailboxes,
    visible,
)
from plugins.jmap.mail.email_build import BuildError, build_message, referenced_blobs
from plugins.jmap.mail.email_query_filter import QueryError, parse_utc_date
from plugins.jmap.methods import Call, register
from plugins.jmap.standard import SetError, standard_set

__all__ = [
    "MAX_ATTACHMENTS_SIZE",
    "append_email",
    "email_set",
    "parse_keywords",
    "parse_mailbox_ids",
]

#: RFC 8621 §1.3.1 ``maxSizeAttachmentsPerEmail`` (the session advertises 50 MiB).
MAX_ATTACHMENTS_SIZE: Final = 50 * 1024 * 1024
_KEYWORD: Final = re.compile(r"^[\x21-\x7e]{1,255}$")
_KEYWORD_FORBIDDEN: Final = frozenset('(){]%*"\\')


def _is_keyword(value: Any) -> bool:
    # RFC 8621 §4.1.1
    return (
        isinstance(value, str)
        and bool(_KEYWORD.match(value))
        and not (_KEYWORD_FORBIDDEN & set(value))
    )


def parse_keywords(value: Any, prop: str = "keywords") -> set[str]:
    """A ``keywords`` value (``String[Boolean]``, every value true), lower-cased."""
    if value is None:
        return set()
    if not isinstance(value, dict) or not all(
        _is_keyword(k) and v is True for k, v in value.items()
    ):
        raise SetError("invalidProperties", "keywords must map keywords to true", properties=[prop])
    return {k.lower() for k in value}


def parse_mailbox_ids(call: Call, value: Any, prop: str = "mailboxIds") -> set[int]:
    """A ``mailboxIds`` value (``Id[Boolean]``, at least one, every value true)."""
    if not isinstance(value, dict) or not value or not all(v is True for v in value.values()):
        raise SetError(
            "invalidProperties", "mailboxIds must map one or more ids to true", properties=[prop]
        )
    out = set()
    for key in value:
        number = decode_id(MAILBOX, call.resolve_creation_id(key))
        if number is None:
            raise SetError("invalidProperties", f"no mailbox {key}", properties=[prop])
        out.add(number)
    return out


async def _require_rights(call: Call, account: int, mailboxes: set[int], rights: str) -> None:
    held = await call.mailbox_rights(account)
    if held is None:
        return
    for mailbox in mailboxes:
        if not set(rights) & set(held.get(mailbox, "")):
            raise SetError("forbidden", f"missing the {rights!r} right on a mailbox")


async def append_email(
    call: Call,
    account: int,
    raw: bytes,
    mailboxes: set[int],
    keywords: set[str],
    received_at: float | None,
) -> tuple[str, dict[str, Any]]:
    """Store ``raw``; returns the new id and the §4.6 ``created`` properties."""
    await _require_rights(call, account, mailboxes, "i")
    try:
        result = await call.kernel.store.emails.append(
            account, raw, sorted(mailboxes), keywords=sorted(keywords), received_at=received_at
        )
    except NoSuchItem:
        raise SetError("invalidProperties", "no such mailbox", properties=["mailboxIds"]) from None
    except QuotaExceeded:
        raise SetError("overQuota", "the account's quota would be exceeded") from None
    except ValueError as error:
        raise SetError("invalidProperties", str(error), properties=["keywords"]) from None
    return encode_id(EMAIL, result.email), {
        "blobId": blob_id_for_hash(result.blob),
        "threadId": encode_id(THREAD, result.thread),
        "size": result.size,
    }


def received_at(value: Any) -> float | None:
    """A ``receivedAt`` value (UTCDate), ``None`` when absent."""
    if value is None:
        return None
    try:
        return parse_utc_date(value)
    except QueryError:
        raise SetError("invalidProperties", "receivedAt", properties=["receivedAt"]) from None


@register("Email/set", MAIL)
async def email_set(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §4.6 Email/set."""
    account = await call.account_id(args)
    store = call.kernel.store.emails

    async def create(creation_id: str, obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        del creation_id
        mailboxes = parse_mailbox_ids(call, obj.get("mailboxIds"))
        keywords = parse_keywords(obj.get("keywords"))
        when = received_at(obj.get("receivedAt"))
        try:
            blobs = {}
            for blob_id in referenced_blobs(obj):
                data = await read_any_blob(call, account, blob_id)
                if data is not None:
                    blobs[blob_id] = data
            if sum(len(data) for data in blobs.values()) > MAX_ATTACHMENTS_SIZE:
                # RFC 8621 §1.3.1 maxSizeAttachmentsPerEmail; RFC 8620 §5.3 tooLarge.
                raise SetError("tooLarge", "the attachments exceed maxSizeAttachmentsPerEmail")
            domain = message_domain(call)
            raw = await trio.to_thread.run_sync(
                lambda: build_message(obj, blobs, now=time.time(), domain=domain)
            )
        except BuildError as error:
            raise SetError(error.type, **_extra(error)) from None
        return await append_email(call, account, raw, mailboxes, keywords, when)

    async def update(jmap_id: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        email = decode_id(EMAIL, jmap_id)
        found = await store.records(account, [email] if email is not None else [])
        readable = await readable_mailboxes(call, account)
        if email is None or email not in found or not visible(found[email], readable):
            raise SetError("notFound", f"no Email {jmap_id}")
        record = found[email]
        keywords = set(record.keywords)
        mailboxes = {m.mailbox for m in record.memberships}
        new_keywords, new_mailboxes = _apply(call, patch, keywords, mailboxes)
        await _check_update_rights(call, account, keywords, new_keywords, mailboxes, new_mailboxes)
        try:
            await store.update_email(
                account,
                email,
                add_keywords=sorted(new_keywords - keywords),
                remove_keywords=sorted(keywords - new_keywords),
                add_mailboxes=sorted(new_mailboxes - mailboxes),
                remove_mailboxes=sorted(mailboxes - new_mailboxes),
            )
        except (NoSuchItem, PreconditionFailed):
            raise SetError(
                "invalidProperties", "no such mailbox", properties=["mailboxIds"]
            ) from None
        except ValueError as error:
            raise SetError("invalidProperties", str(error), properties=["keywords"]) from None
        return None

    async def destroy(jmap_id: str) -> None:
        email = decode_id(EMAIL, jmap_id)
        found = await store.records(account, [email] if email is not None else [])
        readable = await readable_mailboxes(call, account)
        if email is None or email not in found or not visible(found[email], readable):
            raise SetError("notFound", f"no Email {jmap_id}")
        await _require_rights(call, account, {m.mailbox for m in found[email].memberships}, "te")
        if email not in await store.destroy(account, [email]):
            raise SetError("notFound", f"no Email {jmap_id}")

    return await standard_set(
        call, args, account=account, create=create, update=update, destroy=destroy
    )


def _extra(error: BuildError) -> dict[str, Any]:
    extra: dict[str, Any] = dict(error.extra)
    if error.properties:
        extra["properties"] = error.properties
    return extra


def _unescape(segment: str) -> str:
    # RFC 6901 §4: "~1" is "/", "~0" is "~".
    return segment.replace("~1", "/").replace("~0", "~")


def _apply(
    call: Call, patch: dict[str, Any], keywords: set[str], mailboxes: set[int]
) -> tuple[set[str], set[int]]:
    """The keywords and mailboxes after ``patch`` (RFC 8620 §5.3 PatchObject)."""
    keys = list(patch)
    for key in keys:
        if any(other != key and other.startswith(key + "/") for other in keys):
            raise SetError("invalidPatch", f"{key!r} overlaps another patch path")
    new_keywords, new_mailboxes = set(keywords), set(mailboxes)
    for key, value in patch.items():
        head, slash, rest = key.partition("/")
        if head == "keywords" and not slash:
            new_keywords = parse_keywords(value)
        elif head == "mailboxIds" and not slash:
            new_mailboxes = parse_mailbox_ids(call, value)
        elif head == "keywords" and rest and "/" not in rest:
            word = _unescape(rest)
            if not _is_keyword(word) or value not in (True, None):
                raise SetError("invalidProperties", f"bad keyword patch {key}", properties=[key])
            if value is True:
                new_keywords.add(word.lower())
            else:
                new_keywords.discard(word.lower())
        elif head == "mailboxIds" and rest and "/" not in rest:
            number = decode_id(MAILBOX, call.resolve_creation_id(_unescape(rest)))
            if number is None or value not in (True, None):
                raise SetError("invalidProperties", f"bad mailbox patch {key}", properties=[key])
            if value is True:
                new_mailboxes.add(number)
            else:
                new_mailboxes.discard(number)
        else:
            # Every other Email property is immutable (RFC 8621 §4.1).
            raise SetError("invalidProperties", f"{head} cannot be changed", properties=[head])
    if not new_mailboxes:
        raise SetError(
            "invalidProperties", "an Email must be in a mailbox", properties=["mailboxIds"]
        )
    return new_keywords, new_mailboxes


async def _check_update_rights(
    call: Call,
    account: int,
    keywords: set[str],
    new_keywords: set[str],
    mailboxes: set[int],
    new_mailboxes: set[int],
) -> None:
    changed = keywords ^ new_keywords
    if changed:
        needed = "s" if changed == {"$seen"} else "w"
        await _require_rights(call, account, mailboxes, needed)
    if new_mailboxes - mailboxes:
        await _require_rights(call, account, new_mailboxes - mailboxes, "i")
    if mailboxes - new_mailboxes:
        await _require_rights(call, account, mailboxes - new_mailboxes, "te")
