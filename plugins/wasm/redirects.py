"""Carry out ``redirect`` actions through the outbound queue (RFC 5228 §4.2).

The plugin calls :func:`send_redirects` after a delivery stage's verdict, when
``kernel.store.queue`` exists. Each redirect becomes one queued message: the
message as received with our ``Received`` field on top, the envelope sender kept
(``""`` stays the null sender; no SRS rewriting: a site that needs SRS uses the
Sieve plugin's redirect), and the one new recipient.

Implementation notes: the added ``Received`` field counts as a hop, so a loop of
rules redirecting to each other ends at the SMTP hop limit (RFC 5321 §6.3).
``enqueue`` returns once the copy is durable; an error propagates, which fails
this delivery with a temporary error (the sender retries; nothing is lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import formatdate
from typing import Any

from kernel.telemetry import get_logger
from plugins.wasm.actions import Redirect
from plugins.wasm.config import ModuleSpec
from plugins.wasm.sandbox import CallOutcome

__all__ = ["queue_of", "send_redirects"]

_log = get_logger("wasm")


def queue_of(kernel: Any) -> Any | None:
    """The store's outbound queue (with ``enqueue``), or None when there is none."""
    try:
        store = kernel.store
    except Exception:  # no store open (a CLI run, a test without backends)
        return None
    queue = getattr(store, "queue", None)
    return queue if queue is not None and hasattr(queue, "enqueue") else None


async def send_redirects(
    queue: Any,
    hostname: str,
    outcomes: Sequence[tuple[ModuleSpec, CallOutcome]],
    message: bytes,
    sender: str,
    queue_id: str,
) -> list[int]:
    """Queue every redirect of ``outcomes``; the queue ids, in order."""
    queued = []
    for spec, outcome in outcomes:
        for action in outcome.actions:
            if not isinstance(action, Redirect):
                continue
            # RFC 5321 §4.4: a relayed message gets our Received field.
            trace = f"Received: by {hostname} (wasm rule {spec.name}) for <{action.address}>;"
            raw = f"{trace} {formatdate(usegmt=True)}\r\n".encode() + message
            qid = await queue.enqueue(raw, sender, [action.address])
            _log.info(
                "wasm-redirect",
                module=spec.name,
                to=action.address,
                copy=action.copy,
                carried_out=True,
                queued=qid,
                queue_id=queue_id,
            )
            queued.append(qid)
    return queued
