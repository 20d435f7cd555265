"""JMAP over WebSocket (RFC 8887), on the same quart-trio app as the HTTP routes.

* The upgrade request authenticates like any JMAP request (§4.1) and must
  offer the ``jmap`` subprotocol (§4.2); otherwise it is refused with an HTTP
  answer (401, or 400 without ``jmap``).
* Text messages hold a Request (``"@type": "Request"``, optional ``id``), a
  WebSocketPushEnable or a WebSocketPushDisable (§4.3). Requests are answered
  in order, one at a time per connection, with a Response carrying
  ``requestId`` (§4.3.3); request-level errors are RequestError problem
  details (§4.3.4). A binary frame or unparseable text is a RequestError
  (``notJSON``), the connection stays open (§4.3.1 lets the server choose).
* Push (§4.3.5): after WebSocketPushEnable, StateChange objects for the
  enabled ``dataTypes`` are sent as changes commit. Each carries ``pushState``
  (§4.3.5.1): the change-log position, per account the user can see, up to
  which changes were reported (:func:`plugins.jmap.push.format_push_state`).
  It is sent even to a client that enabled push without one, since that is
  how a client gets its first. A WebSocketPushEnable with a ``pushState``
  gets at once a StateChange of everything that changed since (§4.3.5.2
  SHOULD), or of every type when the token is unknown or the log was pruned
  past it.
* Change events only wake the push task up: what it sends is read from the
  change log since the last position reported, so a pushState never claims
  a change that was not pushed (events coalesce and may be dropped).
* When the kernel drains, open connections get a Close frame with 1001
  ("going away") instead of waiting for the shutdown deadline.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import trio
from quart import Response, websocket

from plugins.jmap.api import RequestError, parse_json
from plugins.jmap.auth import authenticate_header, challenge
from plugins.jmap.push import (
    changes_since,
    format_push_state,
    parse_push_state,
    parse_types,
    positions,
)

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from plugins.jmap.accounts import User
    from plugins.jmap.http import JmapService

__all__ = ["SUBPROTOCOL", "serve"]

SUBPROTOCOL = "jmap"


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def _request_error(error: RequestError, request_id: Any) -> dict[str, Any]:
    out = {"@type": "RequestError", **error.to_json()}
    if request_id is not None:
        out["requestId"] = request_id
    return out


class _Connection:
    """One WebSocket connection's state: the push switch and the send lock."""

    def __init__(self, service: JmapService, user: User) -> None:
        self.service = service
        self.user = user
        self.push_types: frozenset[str] | None = None
        self.push_enabled = False
        #: Change-log positions up to which changes were pushed, by account.
        self.pushed: dict[int, int] = {}
        self._send_lock = trio.Lock()
        self._push_lock = trio.Lock()

    async def send(self, value: dict[str, Any]) -> None:
        async with self._send_lock:
            await websocket.send(_dump(value))

    async def handle(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            await self.send(_request_error(RequestError("notJSON", "binary frame"), None))
            return
        data = message.encode("utf-8")
        limit = self.service.settings.max_size_request
        if len(data) > limit:
            error = RequestError("limit", f"larger than {limit} octets", limit="maxSizeRequest")
            await self.send(_request_error(error, None))
            return
        try:
            body = parse_json(data)
        except RequestError as error:
            await self.send(_request_error(error, None))
            return
        kind = body.get("@type") if isinstance(body, dict) else None
        if kind == "WebSocketPushEnable":
            await self.enable_push(body)
            return
        if kind == "WebSocketPushDisable":
            self.push_enabled = False
            return
        request_id = body.get("id") if isinstance(body, dict) else None
        try:
            if isinstance(body, dict) and "id" in body and not isinstance(body["id"], str):
                raise RequestError("notRequest", "'id' must be a string")
            clean = (
                {k: v for k, v in body.items() if k not in ("@type", "id")}
                if isinstance(body, dict)
                else body
            )
            if isinstance(body, dict) and kind != "Request":
                raise RequestError("notRequest", "'@type' must be 'Request'")
            response = await self.service.execute(self.user, clean)
        except RequestError as error:
            await self.send(_request_error(error, request_id))
            return
        out: dict[str, Any] = {"@type": "Response", **response}
        if request_id is not None:
            out["requestId"] = request_id
        await self.send(out)

    async def enable_push(self, body: dict[str, Any]) -> None:
        """WebSocketPushEnable (§4.3.5.2): set the types; with ``pushState``, send
        what changed since it at once."""
        data_types = body.get("dataTypes")
        async with self._push_lock:
            self.push_types = None if data_types is None else parse_types(data_types)
            self.push_enabled = True
            if "pushState" in body:
                await self._push(parse_push_state(body["pushState"]))
            else:
                self.pushed = await positions(self.service.kernel, self.user)

    async def _push(self, since: dict[int, int] | None) -> None:
        """Send what changed after ``since`` (None: unknown) and move the positions."""
        change, where = await changes_since(self.service.kernel, self.user, since, self.push_types)
        if change is not None:
            # RFC 8887 §4.3.5.1: the StateChange carries the pushState it brings to.
            change["pushState"] = format_push_state(where)
            await self.send(change)
        self.pushed = where

    async def push_loop(self) -> None:
        kernel = self.service.kernel
        with kernel.events.subscribe(accounts=[str(self.user.id)]) as subscription:
            async for _event in subscription:
                while True:  # one look at the log for everything pending
                    try:
                        subscription.next_nowait()
                    except trio.WouldBlock:
                        break
                if not self.push_enabled:
                    continue
                async with self._push_lock:
                    if self.push_enabled:
                        await self._push(self.pushed)


async def serve(service: JmapService) -> Response | None:
    """Serve one WebSocket connection (the route's body)."""
    kernel = service.kernel
    outcome = await authenticate_header(
        kernel,
        websocket.headers.get("Authorization"),
        remote=websocket.remote_addr,
        secure=websocket.scheme in ("https", "wss"),
    )
    if outcome.user is None:
        status = outcome.status
        headers = {"WWW-Authenticate": challenge()} if status == 401 else {}
        return Response("authentication required\n", status=status, headers=headers)
    if SUBPROTOCOL not in websocket.requested_subprotocols:
        return Response("the jmap subprotocol is required\n", status=400)
    await websocket.accept(subprotocol=SUBPROTOCOL)
    connection = _Connection(service, outcome.user)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(connection.push_loop)
        nursery.start_soon(_close_on_drain, kernel, nursery.cancel_scope)
        try:
            while True:
                message = await websocket.receive()
                await connection.handle(message)
        finally:
            nursery.cancel_scope.cancel()
    return None


async def _close_on_drain(kernel: Kernel, scope: trio.CancelScope) -> None:
    """When the kernel drains, say "going away" (RFC 6455 §7.4.1: 1001) and stop."""
    await kernel.wait_draining()
    with trio.move_on_after(1):
        await websocket.close(1001)
    scope.cancel()
