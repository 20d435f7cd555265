"""VacationResponse/get and VacationResponse/set (RFC 8621 §8).

* There is exactly one object, id ``singleton``, always present (an account
  that never set it reads the disabled default). §8.2: creating or destroying
  it is refused with SetError ``singleton``; any other id is ``notFound``.
* ``fromDate``/``toDate`` are UTCDates or null; the response is active from
  ``fromDate`` (inclusive) to ``toDate`` (exclusive) when ``isEnabled``.
* The store keeps it (:mod:`kernel.store.vacation`); delivery carries it out
  (:mod:`plugins.sieve.vacation_response`).
* There is no VacationResponse/changes (§8 defines only get and set); the
  state is the account's modseq like every other type's.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from kernel.store.vacation import VacationResponse
from plugins.jmap.capabilities import VACATION
from plugins.jmap.mail.email_header_forms import utc_date_json
from plugins.jmap.methods import Call, register
from plugins.jmap.standard import SetError, apply_patch, standard_get, standard_set

__all__ = [
    "SINGLETON",
    "vacation_account_capability",
    "vacation_object",
    "vacation_response_get",
    "vacation_response_set",
]

#: The id of the one VacationResponse object (§8).
SINGLETON: Final = "singleton"

PROPERTIES: Final = (
    "id",
    "isEnabled",
    "fromDate",
    "toDate",
    "subject",
    "textBody",
    "htmlBody",
)
_STRINGS: Final = ("subject", "textBody", "htmlBody")
_DATES: Final = ("fromDate", "toDate")
#: RFC 8620 §1.4 UTCDate (a numeric offset is accepted and normalised to ``Z``).
_UTC_DATE: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.I
)


def vacation_account_capability() -> dict[str, Any]:
    """The ``urn:ietf:params:jmap:vacationresponse`` account capability (§1.3.3: empty)."""
    return {}


def vacation_object(response: VacationResponse) -> dict[str, Any]:
    """The JMAP VacationResponse object for a stored response."""

    def date(value: float | None) -> str | None:
        return None if value is None else utc_date_json(value)

    return {
        "id": SINGLETON,
        "isEnabled": response.is_enabled,
        "fromDate": date(response.from_date),
        "toDate": date(response.to_date),
        "subject": response.subject,
        "textBody": response.text_body,
        "htmlBody": response.html_body,
    }


def _parse_date(value: str) -> float | None:
    if not _UTC_DATE.match(value):
        return None
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _from_object(obj: dict[str, Any]) -> VacationResponse:
    """Check a whole (patched) object; SetError ``invalidProperties`` naming the bad ones."""
    bad = [p for p in obj if p not in PROPERTIES]
    if obj.get("id") != SINGLETON:
        bad.append("id")
    if not isinstance(obj.get("isEnabled"), bool):
        bad.append("isEnabled")
    bad += [p for p in _STRINGS if obj.get(p) is not None and not isinstance(obj[p], str)]
    dates: dict[str, float | None] = {}
    for prop in _DATES:
        value = obj.get(prop)
        parsed = _parse_date(value) if isinstance(value, str) else None
        if value is not None and parsed is None:
            bad.append(prop)
        dates[prop] = parsed
    if bad:
        raise SetError("invalidProperties", "invalid values", properties=sorted(set(bad)))
    return VacationResponse(
        is_enabled=obj["isEnabled"],
        from_date=dates["fromDate"],
        to_date=dates["toDate"],
        subject=obj.get("subject"),
        text_body=obj.get("textBody"),
        html_body=obj.get("htmlBody"),
    )


@register("VacationResponse/get", VACATION)
async def vacation_response_get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /get (§8.1); ``ids`` null or ``["singleton"]``."""
    account = await call.account_id(args)

    async def load(ids: list[int] | None) -> dict[int, dict[str, Any]]:
        return {0: vacation_object(await call.kernel.store.vacation.get(account))}

    return await standard_get(
        call,
        args,
        account=account,
        decode=lambda value: 0 if value == SINGLETON else None,
        load=load,
        known=PROPERTIES,
    )


@register("VacationResponse/set", VACATION)
async def vacation_response_set(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /set (§8.2): update only; create and destroy are SetError ``singleton``."""
    account = await call.account_id(args)
    store = call.kernel.store.vacation

    async def create(creation_id: str, obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise SetError("singleton", "the VacationResponse cannot be created")

    async def update(jmap_id: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        if jmap_id != SINGLETON:
            raise SetError("notFound", f"no VacationResponse {jmap_id!r}")
        current = vacation_object(await store.get(account))
        await store.put(account, _from_object(apply_patch(current, patch)))
        return None

    async def destroy(jmap_id: str) -> None:
        raise SetError("singleton", "the VacationResponse cannot be destroyed")

    return await standard_set(
        call, args, account=account, create=create, update=update, destroy=destroy
    )
