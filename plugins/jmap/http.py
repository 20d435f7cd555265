"""The JMAP HTTP routes on the kernel's quart-trio app (RFC 8620 §2, §3.1, §6, §7.3).

Routes (see :mod:`plugins.jmap.session` for the paths):

* ``GET /.well-known/jmap``: the Session object (§2.2);
* ``POST /jmap/api/``: the API endpoint (§3.1);
* ``POST /jmap/upload/{accountId}/``: upload (§6.1);
* ``GET /jmap/download/{accountId}/{blobId}/{name}?accept=``: download (§6.2);
* ``GET /jmap/eventsource/``: EventSource push (§7.3);
* ``/jmap/ws``: the WebSocket transport (RFC 8887, :mod:`plugins.jmap.websocket`).

Implementation notes:

* Every route authenticates first (:mod:`plugins.jmap.auth`); 401 carries
  ``WWW-Authenticate``.
* Request-level errors (§3.6.1) are ``400`` with ``application/problem+json``;
  the ``maxSizeRequest`` limit is checked against Content-Length and again
  while reading (the kernel's app has no app-wide body cap: each route
  enforces its own, reloadable limit).
* ``maxConcurrentRequests`` and ``maxConcurrentUpload`` count per user in this
  server process (:class:`Limits`).
"""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, final

import quart
from quart import Response, request

from kernel.stash import StashKey
from plugins.jmap import websocket as ws_transport
from plugins.jmap.accounts import User
from plugins.jmap.api import RequestError, parse_json, parse_request, run_request
from plugins.jmap.auth import authenticate_header, challenge
from plugins.jmap.blobs import resolve_blob, store_upload
from plugins.jmap.capabilities import CORE, SIEVE, WEBSOCKET
from plugins.jmap.config import JmapSettings, settings_of
from plugins.jmap.ids import ACCOUNT, decode_id
from plugins.jmap.methods import MethodRegistry, RequestContext, collect_methods
from plugins.jmap.push import event_source_stream, parse_types
from plugins.jmap.session import build_session
from plugins.jmap.sieve.script_compile import sieve_account_capability

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel

__all__ = ["JMAP_SERVICE", "JmapService", "Limits", "mount"]

_JSON = "application/json"
_PROBLEM = "application/problem+json"


@final
class Limits:
    """Per-user counters of requests (or uploads) in progress in this process."""

    def __init__(self) -> None:
        self._active: dict[int, int] = {}

    def active(self, user: int) -> int:
        """How many slots ``user`` holds now."""
        return self._active.get(user, 0)

    @contextmanager
    def hold(self, user: int, maximum: int) -> Iterator[bool]:
        """Take a slot; yields False (and takes nothing) when ``maximum`` are in use."""
        if self._active.get(user, 0) >= maximum:
            yield False
            return
        self._active[user] = self._active.get(user, 0) + 1
        try:
            yield True
        finally:
            self._active[user] -= 1
            if not self._active[user]:
                del self._active[user]


@final
class JmapService:
    """What the routes share for one kernel: the method registry and the limits."""

    def __init__(self, kernel: Kernel, registry: MethodRegistry | None = None) -> None:
        self.kernel = kernel
        self.registry = registry or collect_methods()
        self.requests = Limits()
        self.uploads = Limits()

    @property
    def settings(self) -> JmapSettings:
        """The running config's ``jmap`` settings."""
        return settings_of(self.kernel.config)

    @property
    def capabilities(self) -> frozenset[str]:
        """Every capability the server supports (``using`` may name these)."""
        return self.registry.capabilities | {CORE, WEBSOCKET}

    def base_url(self) -> str:
        """``scheme://host[:port]`` for absolute URLs (config, else the request)."""
        configured = self.settings.base_url
        if configured:
            return configured
        return f"{request.scheme}://{request.host}"

    def context(self, user: User, using: tuple[str, ...] | frozenset[str]) -> RequestContext:
        """A fresh request context for ``user``."""
        return RequestContext(self.kernel, user, using, self.registry, self.settings)

    async def session(self, user: User, base: str) -> dict[str, Any]:
        """The Session object for ``user``."""
        accounts = await self.context(user, ()).accounts()
        registered = self.registry.capabilities
        personal = {SIEVE: sieve_account_capability(self.kernel)} if SIEVE in registered else {}
        return build_session(user, accounts, self.settings, registered, base, personal)

    @contextmanager
    def request_slot(self, user: User) -> Iterator[None]:
        """Count one request of ``user`` (maxConcurrentRequests, HTTP and WebSocket
        together); raises the ``limit`` RequestError when all slots are taken."""
        with self.requests.hold(user.id, self.settings.max_concurrent_requests) as ok:
            if not ok:
                raise RequestError(
                    "limit", "too many concurrent requests", limit="maxConcurrentRequests"
                )
            yield

    async def execute(
        self, user: User, body: Any, *, require_type: bool = False, counted: bool = False
    ) -> dict[str, Any]:
        """Parse and run a decoded Request object; raises :class:`RequestError`.

        ``counted``: the caller already holds a :meth:`request_slot`.
        """
        settings = self.settings
        parsed = parse_request(
            body,
            capabilities=self.capabilities,
            max_calls=settings.max_calls_in_request,
            require_type=require_type,
        )
        with contextlib.nullcontext() if counted else self.request_slot(user):
            context = RequestContext(
                self.kernel, user, parsed.using, self.registry, settings, parsed.created_ids
            )
            response = await run_request(context, parsed)
        response["sessionState"] = (await self.session(user, "")).get("state")
        return response


JMAP_SERVICE: StashKey[JmapService] = StashKey()


def _problem(error: RequestError) -> Response:
    return Response(json.dumps(error.to_json()), status=error.status, content_type=_PROBLEM)


def _unauthorized(status: int) -> Response:
    if status == 503:
        return Response("authentication unavailable\n", status=503, content_type="text/plain")
    return Response(
        json.dumps({"type": "about:blank", "status": 401, "detail": "authentication required"}),
        status=401,
        content_type=_PROBLEM,
        headers={"WWW-Authenticate": challenge()},
    )


async def _user(kernel: Kernel) -> User | Response:
    outcome = await authenticate_header(
        kernel,
        request.headers.get("Authorization"),
        remote=request.remote_addr,
        secure=request.scheme in ("https", "wss"),
    )
    if outcome.user is None:
        kernel.logger("jmap").info("login-failed", reason=outcome.reason)
        return _unauthorized(outcome.status)
    return outcome.user


async def _read_body(limit: int, limit_name: str) -> bytes:
    """The request body, at most ``limit`` bytes (else ``RequestError`` limit)."""
    length = request.content_length
    if length is not None and length > limit:
        raise RequestError("limit", f"the body is larger than {limit} octets", limit=limit_name)
    chunks = []
    size = 0
    async for chunk in request.body:
        size += len(chunk)
        if size > limit:
            raise RequestError("limit", f"the body is larger than {limit} octets", limit=limit_name)
        chunks.append(chunk)
    return b"".join(chunks)


def _json_response(value: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(value, separators=(",", ":")),
        status=status,
        content_type=_JSON,
        headers={"Cache-Control": "no-cache, no-store, must-revalidate"},
    )


def mount(app: quart.Quart, kernel: Kernel) -> None:
    """Add the JMAP routes to ``app`` (called from ``stalwart_mount_http``)."""
    service = kernel.stash.setdefault(JMAP_SERVICE, JmapService(kernel))

    async def session_resource() -> Response:
        user = await _user(kernel)
        if isinstance(user, Response):
            return user
        return _json_response(await service.session(user, service.base_url()))

    async def api() -> Response:
        user = await _user(kernel)
        if isinstance(user, Response):
            return user
        try:
            # The slot is held from the first body byte (a slow upload of a request
            # counts as a request in progress).
            with service.request_slot(user):
                content_type = (request.mimetype or "").lower()
                body = await _read_body(service.settings.max_size_request, "maxSizeRequest")
                if content_type != _JSON:
                    raise RequestError("notJSON", "the Content-Type must be application/json")
                result = await service.execute(user, parse_json(body), counted=True)
        except RequestError as error:
            return _problem(error)
        return _json_response(result)

    async def upload(account_id: str) -> Response:
        user = await _user(kernel)
        if isinstance(user, Response):
            return user
        settings = service.settings
        account = decode_id(ACCOUNT, account_id)
        accounts = await service.context(user, ()).accounts()
        if account is None or account not in accounts:
            return _problem(RequestError("notFound", "no such account", status=404))
        if accounts[account].read_only:
            return _problem(RequestError("forbidden", "the account is read-only", status=403))
        with service.uploads.hold(user.id, settings.max_concurrent_upload) as ok:
            if not ok:
                return _problem(
                    RequestError(
                        "limit", "too many concurrent uploads", limit="maxConcurrentUpload"
                    )
                )
            try:
                data = await _read_body(settings.max_size_upload, "maxSizeUpload")
            except RequestError as error:
                return _problem(error)
            stored = await store_upload(
                kernel, account, data, request.headers.get("Content-Type"), user=user.id
            )
        return _json_response(
            {
                "accountId": account_id,
                "blobId": stored.blob_id,
                "type": stored.type,
                "size": stored.size,
            },
            201,
        )

    async def download(account_id: str, blob_id: str, name: str) -> Response:
        user = await _user(kernel)
        if isinstance(user, Response):
            return user
        account = decode_id(ACCOUNT, account_id)
        accounts = await service.context(user, ()).accounts()
        blob = None
        if account is not None and account in accounts:
            blob = await resolve_blob(
                kernel,
                account,
                blob_id,
                upload_expiry=service.settings.upload_expiry,
                user=user.id,
            )
        if blob is None:
            return _problem(RequestError("notFound", "no such blob", status=404))
        media_type = request.args.get("accept") or blob.type or "application/octet-stream"
        quoted = urllib.parse.quote(name, safe="")
        ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
        return Response(
            blob.data,
            status=200,
            headers={
                "Content-Type": media_type,
                "Content-Disposition": (
                    f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
                ),
                # §6.2: the content of a blob never changes.
                "Cache-Control": "private, immutable, max-age=31536000",
            },
        )

    async def eventsource() -> Response:
        user = await _user(kernel)
        if isinstance(user, Response):
            return user
        types = parse_types(request.args.get("types", "*"))
        close_after = request.args.get("closeafter", "no")
        if close_after not in ("state", "no"):
            return Response("closeafter must be state or no\n", status=400)
        try:
            ping = int(request.args.get("ping", "0"))
        except ValueError:
            return Response("ping must be an integer\n", status=400)
        if ping < 0:
            return Response("ping must not be negative\n", status=400)
        if ping:
            ping = max(ping, int(service.settings.event_source_min_ping))
        stream = event_source_stream(
            kernel, user, types, close_after_state=close_after == "state", ping=float(ping)
        )
        response = Response(stream, status=200, content_type="text/event-stream")
        response.headers["Cache-Control"] = "no-cache"
        response.timeout = None  # a stream lives as long as the client wants it
        return response

    async def websocket_route() -> Response | None:
        return await ws_transport.serve(service)

    app.add_url_rule("/.well-known/jmap", "jmap_session", session_resource, methods=["GET"])
    app.add_url_rule("/jmap/session", "jmap_session_alias", session_resource, methods=["GET"])
    app.add_url_rule("/jmap/api/", "jmap_api", api, methods=["POST"], strict_slashes=False)
    app.add_url_rule(
        "/jmap/upload/<account_id>/",
        "jmap_upload",
        upload,
        methods=["POST"],
        strict_slashes=False,
    )
    app.add_url_rule(
        "/jmap/download/<account_id>/<blob_id>/<path:name>",
        "jmap_download",
        download,
        methods=["GET"],
    )
    app.add_url_rule(
        "/jmap/eventsource/", "jmap_eventsource", eventsource, methods=["GET"], strict_slashes=False
    )
    app.add_websocket("/jmap/ws", "jmap_websocket", websocket_route)
