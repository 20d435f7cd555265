"""EmailSubmission retention (RFC 8621 §7: the server MAY delete submissions after some
time): with ``jmap.submission_retention`` short, a finished submission disappears and
EmailSubmission/changes reports it destroyed; one still pending stays."""

from __future__ import annotations

import calendar
import time
from pathlib import Path
from typing import Any

from plugins.jmap.mail.submission_expiry import sweep_interval, sweep_submissions
from plugins.smtp.outbound.testing import wait_until
from tests.plugins.jmap.jmap_submission_support import (
    bob_inbox,
    call,
    calls,
    default_identity,
    draft,
    mailbox_id,
    submission_server,
)


async def _submit(server: Any, envelope: dict[str, Any] | None = None) -> tuple[str, str]:
    """Create a draft and submit it; (submission id, the state after)."""
    identity = await default_identity(server)
    drafts = await mailbox_id(server, "Drafts")
    create: dict[str, Any] = {"identityId": identity, "emailId": "#d"}
    if envelope is not None:
        create["envelope"] = envelope
    responses = await calls(
        server,
        [
            ["Email/set", {"create": {"d": draft(drafts)}}, "0"],
            ["EmailSubmission/set", {"create": {"s": create}}, "1"],
        ],
    )
    answer = responses[1][1]
    return answer["created"]["s"]["id"], answer["newState"]


def _held() -> dict[str, Any]:
    return {
        "mailFrom": {"email": "ann@example.org", "parameters": {"HOLDFOR": "3600"}},
        "rcptTo": [{"email": "bob@example.org", "parameters": None}],
    }


async def test_jmap_submission_expiry_destroys_finished_submissions(tmp_path: Path) -> None:
    async with submission_server(tmp_path, {"jmap": {"submission_retention": "1s"}}) as (
        server,
        bob,
    ):
        sent, _ = await _submit(server)
        held, state = await _submit(server, _held())
        await wait_until(lambda: bob_inbox(server, bob))

        async def gone() -> bool:
            _, got = await call(server, "EmailSubmission/get", {"ids": [sent, held]})
            return sent in got["notFound"]

        await wait_until(gone, timeout=30)
        _, got = await call(server, "EmailSubmission/get", {"ids": [held]})
        [pending] = got["list"]  # still pending: never swept
        assert pending["undoStatus"] == "pending"
        _, changes = await call(server, "EmailSubmission/changes", {"sinceState": state})
        assert sent in changes["destroyed"]
        assert held not in changes["destroyed"]
        _, query = await call(server, "EmailSubmission/query", {})
        assert query["ids"] == [held]


async def test_jmap_submission_expiry_canceled_counts_from_send_time(tmp_path: Path) -> None:
    async with submission_server(tmp_path) as (server, _bob):  # the default retention: 7 days
        held, state = await _submit(server, _held())
        _, result = await call(
            server, "EmailSubmission/set", {"update": {held: {"undoStatus": "canceled"}}}
        )
        assert result["updated"] == {held: None}
        _, got = await call(server, "EmailSubmission/get", {"ids": [held]})
        send_at = calendar.timegm(time.strptime(got["list"][0]["sendAt"], "%Y-%m-%dT%H:%M:%SZ"))
        week = 7 * 86400
        assert await sweep_submissions(server.kernel, week) == 0  # not a week old yet
        assert await sweep_submissions(server.kernel, week, now=send_at + week - 60) == 0
        assert await sweep_submissions(server.kernel, week, now=send_at + week + 60) == 1
        _, got = await call(server, "EmailSubmission/get", {"ids": [held]})
        assert got["notFound"] == [held]
        _, changes = await call(server, "EmailSubmission/changes", {"sinceState": state})
        assert changes["destroyed"] == [held]
        # The queue forgot the message too (its only recipient was final).
        assert [m.id for m in await server.kernel.store.queue.list()] == []


def test_jmap_submission_expiry_sweep_interval() -> None:
    assert sweep_interval(7 * 86400) == 600.0
    assert sweep_interval(1) == 1.0
    assert sweep_interval(60) == 30.0
