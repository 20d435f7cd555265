"""EmailSubmission/set (RFC 8621 §7.5): sending an Email through the outbound queue.

Create:

* ``identityId`` and ``emailId`` (``#x`` creation ids of the same request
  allowed) must exist, else ``invalidProperties``; ``envelope`` is optional.
* The Email's From must name only addresses of the account's identities
  (``forbiddenFrom``); a message without From is ``invalidEmail``.
* Without ``envelope``: ``mailFrom`` is the Sender address, else the single
  From address; ``rcptTo`` the deduplicated To, Cc and Bcc addresses (§7).
  ``mailFrom`` must be an address the account owns (``forbiddenMailFrom``).
* Envelope parameters: ``mailFrom`` takes RFC 4865 ``HOLDFOR`` (seconds) or
  ``HOLDUNTIL`` (a date-time) for a delayed send, at most
  ``MAX_DELAYED_SEND`` ahead, plus ``ENVID``, ``RET``, ``BODY``, ``SMTPUTF8``;
  ``rcptTo`` takes ``NOTIFY`` and ``ORCPT`` (RFC 3461). Others are
  ``invalidProperties``.
* The Bcc fields are removed from the bytes queued (§7.5); the queue message
  carries the account, identity, email and thread, so it stays as this
  submission after delivery.

Update: only ``undoStatus`` from ``pending`` to ``canceled``
(``cannotUnsend`` once an attempt was made). Destroy removes the record
only (§7.5: "MUST NOT affect the deliveries it represents").

``onSuccessUpdateEmail`` / ``onSuccessDestroyEmail`` become one implicit
Email/set call whose response follows this one (§7.5).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from kernel.errors import NoSuchItem
from kernel.store import Identity
from plugins.jmap.capabilities import SUBMISSION
from plugins.jmap.ids import EMAIL, decode_id
from plugins.jmap.mail.identity_view import decode_identity, identities, owns_address
from plugins.jmap.mail.submission_view import (
    MAX_DELAYED_SEND,
    MAX_RECIPIENTS,
    MAX_SIZE,
    decode_submission,
    derive_envelope,
    header_addresses,
    is_valid_address,
    strip_bcc,
    submission_object,
)
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import SetError, apply_patch, standard_set

__all__ = ["submission_set"]

_EXTRA = ("onSuccessUpdateEmail", "onSuccessDestroyEmail")
_MAIL_PARAMETERS = {"HOLDFOR", "HOLDUNTIL", "ENVID", "RET", "BODY", "SMTPUTF8"}
_RCPT_PARAMETERS = {"NOTIFY", "ORCPT"}
_BODY_TYPES = {"7BIT", "8BITMIME", "BINARYMIME"}


def _bad_envelope(description: str) -> SetError:
    return SetError("invalidProperties", description, properties=["envelope"])


def _address_object(value: Any, allowed: set[str]) -> tuple[str, dict[str, Any]]:
    """``(email, upper-cased parameters)`` of an envelope Address (§7 "envelope")."""
    if not isinstance(value, dict) or set(value) - {"email", "parameters"}:
        raise _bad_envelope("an envelope address is {email, parameters}")
    email = value.get("email")
    parameters = value.get("parameters")
    if not isinstance(email, str):
        raise _bad_envelope("an envelope address needs an email")
    if parameters is None:
        return email, {}
    if not isinstance(parameters, dict) or not all(
        v is None or isinstance(v, str) for v in parameters.values()
    ):
        raise _bad_envelope("parameters map names to strings or null")
    upper = {k.upper(): v for k, v in parameters.items()}
    unknown = set(upper) - allowed
    if unknown:
        raise _bad_envelope(f"unsupported parameters: {', '.join(sorted(unknown))}")
    return email, upper


def _release_time(parameters: dict[str, Any], now: float) -> float | None:
    """When a HOLDFOR/HOLDUNTIL send may go (RFC 4865 §3), None: at once."""
    if "HOLDFOR" in parameters and "HOLDUNTIL" in parameters:
        raise _bad_envelope("HOLDFOR and HOLDUNTIL exclude each other")
    if "HOLDFOR" in parameters:
        value = parameters["HOLDFOR"]
        if not isinstance(value, str) or not value.isdigit() or len(value) > 9:
            raise _bad_envelope("HOLDFOR takes a number of seconds")
        delay = float(int(value))
    elif "HOLDUNTIL" in parameters:
        value = parameters["HOLDUNTIL"]
        try:
            when = datetime.fromisoformat(str(value).upper().replace("Z", "+00:00"))
        except ValueError:
            raise _bad_envelope("HOLDUNTIL takes an RFC 3339 date-time") from None
        if when.tzinfo is None:
            raise _bad_envelope("HOLDUNTIL needs a time zone")
        delay = max(0.0, when.timestamp() - now)
    else:
        return None
    if delay > MAX_DELAYED_SEND:
        raise _bad_envelope(f"a send may be held at most {MAX_DELAYED_SEND} seconds")
    return now + delay if delay > 0 else None


def _check_list(args: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    updates = args.get("onSuccessUpdateEmail") or {}
    destroys = args.get("onSuccessDestroyEmail") or []
    if not isinstance(updates, dict) or not all(isinstance(v, dict) for v in updates.values()):
        raise MethodError("invalidArguments", "'onSuccessUpdateEmail' maps ids to patches")
    if not isinstance(destroys, list) or not all(isinstance(v, str) for v in destroys):
        raise MethodError("invalidArguments", "'onSuccessDestroyEmail' is a list of ids")
    return updates, destroys


@register("EmailSubmission/set", SUBMISSION)
async def submission_set(call: Call, args: dict[str, Any]) -> Any:
    """Standard /set (§7.5) plus the implicit Email/set of the onSuccess arguments."""
    account = await call.account_id(args)
    on_update, on_destroy = _check_list(args)
    store = call.kernel.store
    #: Submission ids (and "#creation ids") that succeeded, to their Email id.
    succeeded: dict[str, str] = {}

    async def create(creation_id: str, obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        bad = [k for k in obj if k not in ("identityId", "emailId", "envelope")]
        bad = [k for k in bad if not (k == "undoStatus" and obj[k] == "pending")]
        if bad:
            raise SetError("invalidProperties", "unknown or server-set", properties=bad)
        mine = await identities(call, account)
        identity = _identity(call, mine, obj.get("identityId"))
        email_key = decode_id(EMAIL, call.resolve_creation_id(obj.get("emailId")))
        if email_key is None:
            raise SetError("invalidProperties", "no such email", properties=["emailId"])
        try:
            email = await store.emails.get(account, email_key)
            raw = await store.emails.raw(account, email_key)
        except NoSuchItem:
            raise SetError("invalidProperties", "no such email", properties=["emailId"]) from None
        principal = await store.directory.principal((await call.context.accounts())[account].name)
        if principal is None or not principal.enabled or principal.kind != "individual":
            raise SetError("forbiddenToSend", "this account may not send mail")
        if len(raw) > MAX_SIZE:
            raise SetError("tooLarge", "the message is too large to send", maxSize=MAX_SIZE)
        senders = header_addresses(raw, "from")
        if not senders:
            raise SetError("invalidEmail", "the message has no From", properties=["from"])
        allowed = {i.email.lower() for i in mine}
        foreign = [a for a in senders if a.lower() not in allowed]
        if foreign:
            raise SetError("forbiddenFrom", f"not an identity of this account: {foreign[0]}")
        now = time.time()
        mail_params: dict[str, Any] = {}
        rcpt_params: list[tuple[str | None, str | None]] = []
        if obj.get("envelope") is not None:
            envelope = obj["envelope"]
            if not isinstance(envelope, dict) or set(envelope) != {"mailFrom", "rcptTo"}:
                raise _bad_envelope("envelope is {mailFrom, rcptTo}")
            mail_from, mail_params = _address_object(envelope["mailFrom"], _MAIL_PARAMETERS)
            if not isinstance(envelope["rcptTo"], list):
                raise _bad_envelope("rcptTo is a list")
            recipients = []
            for item in envelope["rcptTo"]:
                address, params = _address_object(item, _RCPT_PARAMETERS)
                recipients.append(address)
                rcpt_params.append((params.get("NOTIFY"), params.get("ORCPT")))
        else:
            derived_from, recipients = derive_envelope(raw)
            if derived_from is None:
                raise SetError(
                    "invalidEmail", "no single From or Sender address", properties=["sender"]
                )
            mail_from = derived_from
            rcpt_params = [(None, None)] * len(recipients)
        if not is_valid_address(mail_from):
            raise _bad_envelope(f"mailFrom {mail_from!r} is not an address")
        if not await owns_address(call, account, mail_from):
            raise SetError("forbiddenMailFrom", f"the account may not send from {mail_from!r}")
        if not recipients:
            raise SetError("noRecipients", "the envelope has no recipients")
        invalid = [r for r in recipients if not is_valid_address(r)]
        if invalid:
            raise SetError("invalidRecipients", "invalid addresses", invalidRecipients=invalid)
        if len(set(recipients)) > MAX_RECIPIENTS:
            raise SetError("tooManyRecipients", "too many recipients", maxRecipients=MAX_RECIPIENTS)
        send_at = _release_time(mail_params, now)
        body = mail_params.get("BODY")
        message = await store.queue.enqueue(
            strip_bcc(raw),
            mail_from,
            recipients,
            env_id=mail_params.get("ENVID"),
            dsn_ret=(mail_params.get("RET") or "").upper() or None,
            rcpt_params=rcpt_params,
            account=account,
            identity=identity.id,
            email=email_key,
            thread=email.row.thread,
            send_at=send_at,
            now=now,
            body_type=body.upper()
            if isinstance(body, str) and body.upper() in _BODY_TYPES
            else None,
            smtputf8="SMTPUTF8" in mail_params,
        )
        [queued] = await store.queue.submissions(account, [message])
        full = submission_object(queued)
        succeeded[full["id"]] = full["emailId"]
        succeeded["#" + creation_id] = full["emailId"]
        return full["id"], {k: v for k, v in full.items() if k not in obj and k != "id"}

    async def load(jmap_id: str) -> dict[str, Any]:
        key = decode_submission(jmap_id)
        found = await store.queue.submissions(account, [key]) if key is not None else []
        if not found:
            raise SetError("notFound")
        return submission_object(found[0])

    async def update(jmap_id: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        current = await load(jmap_id)
        new = apply_patch(current, patch)
        changed = {k: v for k, v in new.items() if current.get(k) != v}
        bad = sorted(k for k in changed if k != "undoStatus")
        bad += [k for k in current if k not in new]
        if bad or ("undoStatus" in changed and changed["undoStatus"] != "canceled"):
            raise SetError(
                "invalidProperties", "only undoStatus: canceled", properties=bad or ["undoStatus"]
            )
        if "undoStatus" in changed:
            if current["undoStatus"] != "pending":
                raise SetError("cannotUnsend", "the submission is no longer pending")
            key = decode_submission(jmap_id)
            assert key is not None
            if not await store.queue.cancel_submission(account, key):
                raise SetError("cannotUnsend", "delivery has started")
        succeeded[jmap_id] = current["emailId"]
        return None

    async def destroy(jmap_id: str) -> None:
        current = await load(jmap_id)
        key = decode_submission(jmap_id)
        assert key is not None
        try:
            await store.queue.delete_submission(account, key)
        except NoSuchItem:
            raise SetError("notFound") from None
        succeeded[jmap_id] = current["emailId"]

    response = await standard_set(
        call,
        args,
        account=account,
        create=create,
        update=update,
        destroy=destroy,
        extra_args=_EXTRA,
    )
    email_update = {succeeded[ref]: patch for ref, patch in on_update.items() if ref in succeeded}
    email_destroy = list(dict.fromkeys(succeeded[r] for r in on_destroy if r in succeeded))
    if not email_update and not email_destroy:
        return response
    implicit = await call.invoke(
        "Email/set",
        {
            "accountId": args["accountId"],
            "update": email_update or None,
            "destroy": email_destroy or None,
        },
    )
    return [("EmailSubmission/set", response), *implicit]


def _identity(call: Call, mine: list[Identity], value: Any) -> Identity:
    key = decode_identity(call.resolve_creation_id(value)) if isinstance(value, str) else None
    found = next((i for i in mine if i.id == key), None)
    if found is None:
        raise SetError("invalidProperties", "no such identity", properties=["identityId"])
    return found
