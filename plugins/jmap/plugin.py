"""Hooks of the ``jmap`` plugin: its config section, its HTTP routes, the store it needs,
and its services (push delivery, the sweeper of expired uploads and subscriptions, the
sweeper of old EmailSubmission records)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import quart
import trio

from kernel import Kernel, KernelError, Section, hookimpl
from plugins.jmap.blobs import sweep_uploads
from plugins.jmap.config import SECTION, settings_of
from plugins.jmap.http import mount
from plugins.jmap.mail.submission_expiry import run_submission_sweeper
from plugins.jmap.pusher import PUSHER, Pusher

__all__ = [
    "stalwart_mount_http",
    "stalwart_register_config_sections",
    "stalwart_required_backends",
    "stalwart_startup",
]

#: How often expired uploads are deleted.
SWEEP_INTERVAL = 600.0


@hookimpl
def stalwart_register_config_sections() -> list[Section]:
    return [SECTION]


@hookimpl
def stalwart_required_backends() -> list[str]:
    return ["store"]


@hookimpl
def stalwart_mount_http(app: quart.Quart, kernel: Kernel) -> None:
    mount(app, kernel)


@hookimpl
def stalwart_startup(kernel: Kernel) -> Callable[..., Awaitable[None]]:
    pusher = kernel.stash.setdefault(PUSHER, Pusher(kernel))

    async def services(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(pusher.run)
            await nursery.start(run_submission_sweeper, kernel)
            task_status.started()
            while True:
                try:
                    await sweep_uploads(kernel, settings_of(kernel.config).upload_expiry)
                    await kernel.store.mailboxes.delete_expired_push_subscriptions(time.time())
                except (KernelError, OSError) as exc:  # try again next time
                    kernel.logger("jmap").error(
                        "sweep-failed", error=f"{type(exc).__name__}: {exc}"
                    )
                await trio.sleep(SWEEP_INTERVAL)

    return services
