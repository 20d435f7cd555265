"""The real client library jmapc (PyPI), unmodified, doing Email work over HTTPS: a draft
created with Email/set, a query with a text filter and sort, Email/get through a result
reference, Email/changes, SearchSnippet/get, and a keyword update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from jmap_support import USER, jmap_server, jmapc_client, jmapc_tls, message
from jmapc import Ref
from jmapc.methods import (
    EmailChanges,
    EmailChangesResponse,
    EmailGet,
    EmailGetResponse,
    EmailQuery,
    EmailQueryResponse,
    EmailSet,
    EmailSetResponse,
    SearchSnippetGet,
    SearchSnippetGetResponse,
)
from jmapc.models import (
    Comparator,
    Email,
    EmailAddress,
    EmailBodyPart,
    EmailBodyValue,
    EmailQueryFilterCondition,
)

TIMEOUT = 30


async def test_jmap_email_jmapc_draft_query_get_snippets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, jmapc_tls(tmp_path, monkeypatch)) as server:
            await server.deliver(message(1, "weekly gazette", b"news of the walrus\r\n"))
            client = jmapc_client(server.kernel)
            inbox = server.inbox_id

            def run() -> tuple[Any, ...]:
                state = client.request(EmailGet(ids=[])).state
                created = client.request(
                    EmailSet(
                        create={
                            "draft": Email(
                                mailbox_ids={inbox: True},
                                keywords={"$draft": True},
                                mail_from=[EmailAddress(name="Ann", email=USER)],
                                to=[EmailAddress(name="Walrus", email="walrus@example.org")],
                                subject="About the walrus",
                                body_values={"b": EmailBodyValue(value="The walrus said hi.")},
                                text_body=[EmailBodyPart(part_id="b", type="text/plain")],
                            )
                        }
                    )
                )
                results = client.request(
                    [
                        EmailQuery(
                            filter=EmailQueryFilterCondition(text="walrus"),
                            sort=[Comparator(property="receivedAt", is_ascending=False)],
                            calculate_total=True,
                        ),
                        EmailGet(
                            ids=Ref("/ids"),
                            properties=["subject", "from", "keywords", "preview"],
                        ),
                        SearchSnippetGet(
                            ids=Ref("/ids", method=0),
                            filter=EmailQueryFilterCondition(text="walrus"),
                        ),
                    ]
                )
                changes = client.request(EmailChanges(since_state=state))
                return created, results, changes

            created, results, changes = await trio.to_thread.run_sync(run)
            assert isinstance(created, EmailSetResponse)
            assert created.created is not None and "draft" in created.created
            draft_id = created.created["draft"].id
            query, got, snippets = (r.response for r in results)
            assert isinstance(query, EmailQueryResponse) and query.total == 2
            assert query.ids[0] == draft_id  # newest first
            assert isinstance(got, EmailGetResponse)
            subjects = {e.id: e.subject for e in got.data}
            assert subjects[draft_id] == "About the walrus"
            draft = next(e for e in got.data if e.id == draft_id)
            assert draft.mail_from == [EmailAddress(name="Ann", email=USER)]
            assert draft.keywords == {"$draft": True}
            assert draft.preview == "The walrus said hi."
            assert isinstance(snippets, SearchSnippetGetResponse)
            marked = {s.email_id: s for s in snippets.data}
            assert marked[draft_id].subject == "About the <mark>walrus</mark>"
            assert isinstance(changes, EmailChangesResponse)
            assert changes.created == [draft_id]

            def update() -> Any:
                return client.request(EmailSet(update={draft_id: {"keywords/$seen": True}}))

            updated = await trio.to_thread.run_sync(update)
            assert isinstance(updated, EmailSetResponse) and updated.updated is not None
            keywords = await server.kernel.store.emails.keywords_of(
                server.account, [int(draft_id[1:], 32)]
            )
            assert keywords[int(draft_id[1:], 32)] == {"$draft", "$seen"}
