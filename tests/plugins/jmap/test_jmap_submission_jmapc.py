"""The real client library jmapc (PyPI), unmodified, sending mail: Identity/get, a draft
created with Email/set, EmailSubmission/set with onSuccessUpdateEmail (its implicit
Email/set response included), EmailSubmission/get and /query, over HTTPS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from jmapc.methods import (
    EmailSet,
    EmailSetResponse,
    EmailSubmissionGet,
    EmailSubmissionGetResponse,
    EmailSubmissionQuery,
    EmailSubmissionQueryResponse,
    EmailSubmissionSet,
    EmailSubmissionSetResponse,
    IdentityGet,
    IdentityGetResponse,
)
from jmapc.models import Email, EmailAddress, EmailBodyPart, EmailBodyValue, EmailSubmission

from tests.plugins.jmap.jmap_submission_support import bob_inbox, mailbox_id, submission_server
from tests.plugins.jmap.jmap_support import USER, jmapc_client, jmapc_tls

TIMEOUT = 30


async def test_jmap_submission_jmapc_sends_a_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(TIMEOUT):
        async with submission_server(tmp_path, jmapc_tls(tmp_path, monkeypatch)) as (server, bob):
            client = jmapc_client(server.kernel)
            drafts = await mailbox_id(server, "Drafts")
            sent = await mailbox_id(server, "Sent")

            def run() -> tuple[Any, ...]:
                identities = client.request(IdentityGet())
                assert isinstance(identities, IdentityGetResponse)
                identity = identities.data[0]
                made = client.request(
                    EmailSet(
                        create={
                            "draft": Email(
                                mailbox_ids={drafts: True},
                                keywords={"$draft": True},
                                mail_from=[EmailAddress(name="Ann", email=identity.email)],
                                to=[EmailAddress(name="Bob", email="bob@example.org")],
                                subject="From jmapc",
                                body_values={"b": EmailBodyValue(value="Sent by jmapc.")},
                                text_body=[EmailBodyPart(part_id="b", type="text/plain")],
                            )
                        }
                    )
                )
                assert isinstance(made, EmailSetResponse) and made.created is not None
                draft = made.created["draft"]
                assert draft is not None and draft.id is not None
                results = client.request(
                    EmailSubmissionSet(
                        create={
                            "send": EmailSubmission(identity_id=identity.id, email_id=draft.id)
                        },
                        on_success_update_email={
                            "#send": {
                                f"mailboxIds/{drafts}": None,
                                f"mailboxIds/{sent}": True,
                                "keywords/$draft": None,
                            }
                        },
                    )
                )
                return identity, draft.id, results

            identity, draft_id, results = await trio.to_thread.run_sync(run)
            assert identity.email == USER and identity.may_delete is False
            submitted, implicit = results  # one call, two responses (§7.5)
            assert isinstance(submitted, EmailSubmissionSetResponse)
            assert submitted.created is not None
            sent_sub = submitted.created["send"]
            assert sent_sub is not None and sent_sub.id is not None
            assert isinstance(implicit, EmailSetResponse)
            assert implicit.updated is not None and draft_id in implicit.updated
            assert await bob_inbox_soon(server, bob)

            def read() -> tuple[Any, Any]:
                got = client.request(EmailSubmissionGet(ids=[sent_sub.id]))
                query = client.request(EmailSubmissionQuery())
                return got, query

            got, query = await trio.to_thread.run_sync(read)
            assert isinstance(got, EmailSubmissionGetResponse)
            assert got.data[0].email_id == draft_id and got.data[0].send_at is not None
            assert isinstance(query, EmailSubmissionQueryResponse)
            assert query.ids == [sent_sub.id]


async def bob_inbox_soon(server: Any, bob: int) -> list[bytes]:
    from plugins.smtp.outbound.testing import wait_until

    return await wait_until(lambda: bob_inbox(server, bob))
