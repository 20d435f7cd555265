"""A JMAP Request to its Response (RFC 8620 §3.3-§3.7), independent of the transport.

The HTTP endpoint and the WebSocket transport (RFC 8887) both parse the body
with :func:`parse_request` (request-level errors, §3.6.1, raised as
:class:`RequestError`) and run it with :func:`run_request`.

Implementation notes:

* Method calls run one after another, in order (§3.3: "processed sequentially").
* Result references (§3.7): an argument ``#name`` holding a ResultReference is
  replaced by the value the JSON pointer (with the ``*`` array wildcard) picks
  out of an earlier response with that call id and name; anything that does not
  resolve is ``invalidResultReference``. ``name`` and ``#name`` together are
  ``invalidArguments``.
* ``createdIds`` is returned only when the request carried it (§3.4).
* An unexpected exception in a method becomes ``serverFail`` for that call and
  is logged; the request goes on (§3.6.2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, final

from plugins.jmap.blobs import CURRENT_USER
from plugins.jmap.methods import Call, MethodError, RequestContext, as_responses

__all__ = [
    "ERROR_PREFIX",
    "ParsedRequest",
    "RequestError",
    "parse_request",
    "resolve_references",
    "run_request",
]

ERROR_PREFIX: Final = "urn:ietf:params:jmap:error:"


class RequestError(Exception):
    """A request-level error (§3.6.1), sent as an RFC 7807 problem-details object."""

    def __init__(
        self, type: str, detail: str, *, status: int = 400, limit: str | None = None
    ) -> None:
        super().__init__(detail)
        self.type = type
        self.detail = detail
        self.status = status
        self.limit = limit

    def to_json(self) -> dict[str, Any]:
        """The problem-details object."""
        out: dict[str, Any] = {
            "type": ERROR_PREFIX + self.type,
            "status": self.status,
            "detail": self.detail,
        }
        if self.limit is not None:
            out["limit"] = self.limit
        return out


@final
@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A well-formed Request object (§3.3)."""

    using: tuple[str, ...]
    calls: tuple[tuple[str, dict[str, Any], str], ...]
    created_ids: dict[str, str] | None


def _reject_constant(value: str) -> Any:
    raise ValueError(f"{value} is not JSON")  # I-JSON (RFC 7493): no NaN/Infinity


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member names")  # RFC 7493 §2.3
    return out


def parse_json(body: bytes) -> Any:
    """Parse an I-JSON body (UTF-8, no duplicate names, no NaN); ``notJSON`` otherwise."""
    try:
        return json.loads(
            body.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_keys
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RequestError("notJSON", f"the body is not I-JSON: {exc}") from None


def parse_request(
    body: Any, *, capabilities: frozenset[str], max_calls: int, require_type: bool = False
) -> ParsedRequest:
    """Check a decoded Request object (§3.3); raise :class:`RequestError`.

    ``require_type``: the WebSocket transport's ``"@type": "Request"`` (RFC 8887 §4.3.1).
    """
    if not isinstance(body, dict):
        raise RequestError("notRequest", "the request must be a JSON object")
    if require_type and body.get("@type") != "Request":
        raise RequestError("notRequest", "'@type' must be 'Request'")
    using = body.get("using")
    calls = body.get("methodCalls")
    if not isinstance(using, list) or not all(isinstance(u, str) for u in using):
        raise RequestError("notRequest", "'using' must be a list of capability URIs")
    if not isinstance(calls, list):
        raise RequestError("notRequest", "'methodCalls' must be a list")
    parsed_calls = []
    for call in calls:
        if (
            not isinstance(call, list)
            or len(call) != 3
            or not isinstance(call[0], str)
            or not isinstance(call[1], dict)
            or not isinstance(call[2], str)
        ):
            raise RequestError("notRequest", "each method call must be [name, arguments, id]")
        parsed_calls.append((call[0], call[1], call[2]))
    created = body.get("createdIds")
    if created is not None and (
        not isinstance(created, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in created.items())
    ):
        raise RequestError("notRequest", "'createdIds' must map ids to ids")
    unknown = [u for u in using if u not in capabilities]
    if unknown:
        raise RequestError("unknownCapability", f"unknown capabilities: {', '.join(unknown)}")
    if len(parsed_calls) > max_calls:
        raise RequestError(
            "limit", f"at most {max_calls} method calls per request", limit="maxCallsInRequest"
        )
    return ParsedRequest(tuple(using), tuple(parsed_calls), created)


# ---- result references (§3.7) ----------------------------------------------------


class _Unresolvable(Exception):
    pass


def _pointer(value: Any, tokens: list[str]) -> Any:
    for index, raw in enumerate(tokens):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list):
            if token == "*":
                out: list[Any] = []
                for item in value:
                    found = _pointer(item, tokens[index + 1 :])
                    if isinstance(found, list):
                        out.extend(found)
                    else:
                        out.append(found)
                return out
            if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
                raise _Unresolvable(f"{token!r} is not an array index")
            if int(token) >= len(value):
                raise _Unresolvable(f"index {token} is past the end")
            value = value[int(token)]
        elif isinstance(value, dict):
            if token not in value:
                raise _Unresolvable(f"no member {token!r}")
            value = value[token]
        else:
            raise _Unresolvable(f"cannot descend into a {type(value).__name__}")
    return value


def evaluate_pointer(value: Any, path: str) -> Any:
    """RFC 6901 with the RFC 8620 §3.7 ``*`` wildcard; ValueError if it does not resolve."""
    if path == "":
        return value
    if not path.startswith("/"):
        raise ValueError("a JSON pointer starts with '/'")
    try:
        return _pointer(value, path[1:].split("/"))
    except _Unresolvable as exc:
        raise ValueError(str(exc)) from None


def resolve_references(
    args: dict[str, Any], responses: list[tuple[str, dict[str, Any], str]]
) -> dict[str, Any]:
    """``args`` with every ``#name`` ResultReference replaced by its value (§3.7)."""
    out = {}
    for key, value in args.items():
        if not key.startswith("#"):
            out[key] = value
            continue
        plain = key[1:]
        if plain in args:
            raise MethodError("invalidArguments", f"both {plain!r} and {key!r} were given")
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("resultOf"), str)
            or not isinstance(value.get("name"), str)
            or not isinstance(value.get("path"), str)
        ):
            raise MethodError("invalidResultReference", f"{key!r} is not a ResultReference")
        matches = [r for r in responses if r[2] == value["resultOf"]]
        source = next((r for r in matches if r[0] == value["name"]), None)
        if source is None:
            raise MethodError(
                "invalidResultReference",
                f"no {value['name']} response with call id {value['resultOf']!r}",
            )
        try:
            out[plain] = evaluate_pointer(source[1], value["path"])
        except ValueError as exc:
            raise MethodError("invalidResultReference", f"{value['path']}: {exc}") from None
    return out


# ---- running a request ---------------------------------------------------------------


async def run_request(context: RequestContext, request: ParsedRequest) -> dict[str, Any]:
    """Run every call of ``request``; the Response object without ``sessionState``."""
    token = CURRENT_USER.set(context.user.id)
    try:
        return await _run_calls(context, request)
    finally:
        CURRENT_USER.reset(token)


async def _run_calls(context: RequestContext, request: ParsedRequest) -> dict[str, Any]:
    responses: list[tuple[str, dict[str, Any], str]] = []
    log = context.kernel.logger("jmap")
    for name, raw_args, call_id in request.calls:
        try:
            spec = context.registry.lookup(name, context.using)
            args = resolve_references(raw_args, responses)
            call = Call(context, name, call_id, spec.capability)
            result = as_responses(name, await spec.handler(call, args))
            responses.extend((n, a, call_id) for n, a in result)
        except MethodError as error:
            responses.append(("error", error.to_json(), call_id))
        except Exception as exc:  # a bug or a store failure: serverFail, logged (§3.6.2)
            log.error("method-failed", method=name, error=f"{type(exc).__name__}: {exc}")
            responses.append(("error", {"type": "serverFail", "description": str(exc)}, call_id))
    out: dict[str, Any] = {"methodResponses": [list(r) for r in responses]}
    if request.created_ids is not None:
        out["createdIds"] = context.created_ids
    return out
