"""Delivering push to PushSubscription URLs (RFC 8620 §7.2): a service task.

Started by the plugin's ``stalwart_startup``. It sends each new
subscription's PushVerification at once, then, for every change event,
POSTs a StateChange to the verified, unexpired subscriptions of the account
concerned (restricted to their ``types``). Expired subscriptions are
deleted as they are met.

Implementation notes:

* The HTTP client is a minimal HTTP/1.1 POST over ``trio`` (TLS through the
  default context), so the server has no HTTP client dependency; only the
  status line of the answer is read. Each POST carries ``Content-Type:
  application/json`` and the RFC 8030 ``TTL`` header (§7.2). A 429 answer
  holds that subscription back for a minute (§7.2: "MUST cause the JMAP server
  to reduce the frequency of pushes").
* Each event looks up the account's subscriptions in a per-process cache
  (``CACHE_TTL``), so commits of accounts without subscriptions cost no read.
* A subscription with ``keys`` gets every body (the PushVerification too)
  encrypted with RFC 8291 in the ``aes128gcm`` content coding
  (:mod:`plugins.jmap.push_crypto`), sent with ``Content-Encoding: aes128gcm``;
  ``Content-Type`` stays ``application/json``, the type of the decoded body
  (RFC 9110 §8.4: the coding applies on top of the media type).
* Deliveries run one at a time per server process, each under
  ``jmap.push_timeout``; a failure is logged and dropped (push is a hint: a
  client resynchronises with /changes anyway).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, final

import trio

from kernel.errors import KernelError
from kernel.stash import StashKey
from kernel.store.mail_records import PushSubscriptionRecord
from plugins.jmap.accounts import User
from plugins.jmap.config import settings_of
from plugins.jmap.ids import ACCOUNT, PUSH, encode_id
from plugins.jmap.push import DeliveryTracker, parse_types, state_change
from plugins.jmap.push_crypto import CONTENT_ENCODING, PushKeys, encrypt, parse_keys
from plugins.jmap.state import state_string

if TYPE_CHECKING:
    from kernel.events import ChangeEvent
    from kernel.lifecycle import Kernel

__all__ = ["PUSHER", "Pusher", "post_json"]

#: How long a subscription that answered 429 is left alone.
BACKOFF = 60.0
#: How long a principal's subscriptions are cached (another node's changes show
#: after this long; this node's at once).
CACHE_TTL = 30.0
_TTL = "43200"


async def post_json(
    url: str,
    body: dict[str, Any],
    *,
    timeout: float,
    keys: PushKeys | None = None,
) -> int:
    """POST ``body`` as JSON to ``url``, encrypted for ``keys`` when given (RFC 8291);
    returns the HTTP status (raises OSError)."""
    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    host = parts.hostname or ""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    payload = json.dumps(body, separators=(",", ":")).encode()
    coding = ""
    if keys is not None:
        payload = encrypt(payload, keys)
        coding = f"Content-Encoding: {CONTENT_ENCODING}\r\n"
    request = (
        f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\n{coding}Content-Length: {len(payload)}\r\n"
        f"TTL: {_TTL}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    with trio.fail_after(timeout):
        stream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
        if secure:
            stream = trio.SSLStream(stream, ssl.create_default_context(), server_hostname=host)
        try:
            await stream.send_all(request)
            head = b""
            while b"\r\n" not in head and len(head) < 8192:
                chunk = await stream.receive_some(4096)
                if not chunk:
                    break
                head += chunk
        finally:
            await trio.aclose_forcefully(stream)
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise OSError("not an HTTP answer")
    return int(status_line[1])


@final
class Pusher:
    """The push delivery service of one kernel."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._send, self._receive = trio.open_memory_channel[PushSubscriptionRecord](256)
        self._held: dict[int, float] = {}
        self._deliveries = DeliveryTracker()
        self._cache: dict[int, tuple[float, list[PushSubscriptionRecord]]] = {}
        self.delivered = 0

    async def _subscriptions(self, principal: int) -> list[PushSubscriptionRecord]:
        """The principal's subscriptions, cached for ``CACHE_TTL`` seconds."""
        now = time.monotonic()
        hit = self._cache.get(principal)
        if hit is not None and hit[0] > now:
            return hit[1]
        records = await self.kernel.store.mailboxes.push_subscriptions(principal)
        self._cache[principal] = (now + CACHE_TTL, records)
        return records

    def invalidate(self, principal: int) -> None:
        """Forget the cached subscriptions of ``principal`` (after PushSubscription/set)."""
        self._cache.pop(principal, None)

    def verify(self, record: PushSubscriptionRecord) -> None:
        """Queue the PushVerification of a new subscription (dropped if the queue is full)."""
        try:
            self._send.send_nowait(record)
        except trio.WouldBlock:
            self.kernel.logger("jmap").warning("push-verification-dropped", id=record.id)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._verifications)
            nursery.start_soon(self._changes)
            task_status.started()

    async def _post(self, record: PushSubscriptionRecord, body: dict[str, Any]) -> None:
        settings = settings_of(self.kernel.config)
        log = self.kernel.logger("jmap")
        try:
            keys = parse_keys(json.loads(record.keys)) if record.keys else None
            status = await post_json(record.url, body, timeout=settings.push_timeout, keys=keys)
        except (OSError, trio.TooSlowError, ssl.SSLError, ValueError) as exc:
            log.info("push-failed", id=record.id, error=f"{type(exc).__name__}: {exc}")
            return
        if status == 429:
            self._held[record.id] = time.monotonic() + BACKOFF
        self.delivered += 1
        log.info("push", id=record.id, status=status)

    async def _verifications(self) -> None:
        async for record in self._receive:
            await self._post(
                record,
                {
                    "@type": "PushVerification",
                    "pushSubscriptionId": encode_id(PUSH, record.id),
                    "verificationCode": record.verification_code,
                },
            )

    async def _changes(self) -> None:
        with self.kernel.events.subscribe() as subscription:
            async for event in subscription:
                batch = [event]
                while True:
                    try:
                        batch.append(subscription.next_nowait())
                    except trio.WouldBlock:
                        break
                try:
                    await self._deliver(batch)
                except (KernelError, OSError) as exc:  # a store hiccup must not stop the kernel
                    self.kernel.logger("jmap").error(
                        "push-delivery-failed", error=f"{type(exc).__name__}: {exc}"
                    )

    async def _deliver(self, batch: list[ChangeEvent]) -> None:
        by_account: dict[str, list[ChangeEvent]] = {}
        for event in batch:
            by_account.setdefault(event.account, []).append(event)
        store = self.kernel.store.mailboxes
        now = time.time()
        for account, events in by_account.items():
            try:
                principal = int(account)
            except ValueError:
                continue
            subscriptions = await self._subscriptions(principal)
            if not subscriptions:
                continue
            delivery = False
            if any(e.kind == "email" for e in events):
                delivery = await self._deliveries.new_mail(
                    self.kernel, principal, max(e.modseq for e in events)
                )
            for record in subscriptions:
                if record.expires is not None and record.expires < now:
                    await store.delete_push_subscription(principal, record.id)
                    self.invalidate(principal)
                    continue
                if not record.verified or self._held.get(record.id, 0) > time.monotonic():
                    continue
                types = parse_types(json.loads(record.types)) if record.types else None
                change = await state_change(self.kernel, User(principal, ""), events, types)
                if delivery and (types is None or "EmailDelivery" in types):
                    change = change or {"@type": "StateChange", "changed": {}}
                    states = change["changed"].setdefault(encode_id(ACCOUNT, principal), {})
                    states["EmailDelivery"] = state_string(max(e.modseq for e in events))
                if change is not None:
                    await self._post(record, change)


PUSHER: StashKey[Pusher] = StashKey()
