"""Email/query filter and sort translation (RFC 8621 §4.4.1, §4.4.2) and SearchSnippet
rendering (§5), sans-IO."""

from __future__ import annotations

from typing import Any

import pytest

from kernel.store.filters import (
    All,
    AnyOf,
    Comparator,
    Contains,
    HasAttachment,
    HasKeyword,
    HeaderContains,
    InMailbox,
    InMailboxOtherThan,
    Not,
    ReceivedBefore,
    ReceivedSince,
    SizeAtLeast,
    SizeBelow,
    ThreadKeyword,
)
from plugins.jmap.mail.email_query_filter import QueryError, text_terms, to_filter, to_sort
from plugins.jmap.mail.snippet_render import search_terms, snippet


def _mailbox(value: Any) -> int | None:
    return int(value[1:]) if isinstance(value, str) and value[1:].isdigit() else None


def test_jmap_email_every_filter_condition_translates() -> None:
    condition = {
        "inMailbox": "M1",
        "inMailboxOtherThan": ["M2", "M3"],
        "before": "2024-01-02T00:00:00Z",
        "after": "2024-01-01T00:00:00Z",
        "minSize": 10,
        "maxSize": 100,
        "allInThreadHaveKeyword": "$Seen",
        "someInThreadHaveKeyword": "$flagged",
        "noneInThreadHaveKeyword": "$draft",
        "hasKeyword": "work",
        "notKeyword": "junk",
        "hasAttachment": True,
        "text": "alpha",
        "from": "bob",
        "to": "carol",
        "cc": "dave",
        "bcc": "erin",
        "subject": "report",
        "body": "budget",
        "header": ["X-Priority", "1"],
    }
    got = to_filter(condition, _mailbox)
    assert isinstance(got, All)
    assert set(got.children) == {
        InMailbox(1),
        InMailboxOtherThan(frozenset({2, 3})),
        ReceivedBefore(1704153600.0),
        ReceivedSince(1704067200.0),
        SizeAtLeast(10),
        SizeBelow(100),
        ThreadKeyword("$seen", "all"),
        ThreadKeyword("$flagged", "some"),
        ThreadKeyword("$draft", "none"),
        HasKeyword("work"),
        Not(HasKeyword("junk")),
        HasAttachment(True),
        Contains("text", "alpha"),
        Contains("from", "bob"),
        Contains("to", "carol"),
        Contains("cc", "dave"),
        Contains("bcc", "erin"),
        Contains("subject", "report"),
        Contains("body", "budget"),
        HeaderContains("x-priority", "1"),
    }


def test_jmap_email_operators_and_empty_conditions() -> None:
    tree = {
        "operator": "OR",
        "conditions": [
            {"operator": "NOT", "conditions": [{"hasKeyword": "a"}, {"hasKeyword": "b"}]},
            {"operator": "AND", "conditions": [{}, {"header": ["List-Id"]}]},
        ],
    }
    assert to_filter(tree, _mailbox) == AnyOf(
        (
            Not(AnyOf((HasKeyword("a"), HasKeyword("b")))),
            All((All(()), HeaderContains("list-id", ""))),
        )
    )
    assert to_filter(None, _mailbox) == All()
    assert to_filter({"inMailbox": "nonsense"}, _mailbox) == InMailbox(-1)


@pytest.mark.parametrize(
    ("node", "error"),
    [
        ({"unknownCondition": 1}, "unsupportedFilter"),
        ({"operator": "XOR", "conditions": []}, "unsupportedFilter"),
        ({"operator": "AND"}, "invalidArguments"),
        ({"before": "yesterday"}, "invalidArguments"),
        ({"minSize": -1}, "invalidArguments"),
        ({"minSize": True}, "invalidArguments"),
        ({"hasKeyword": "bad keyword"}, "invalidArguments"),
        ({"hasKeyword": "a(b"}, "invalidArguments"),
        ({"header": []}, "invalidArguments"),
        ({"header": ["a", "b", "c"]}, "invalidArguments"),
        ({"text": 5}, "invalidArguments"),
        ({"hasAttachment": "yes"}, "invalidArguments"),
        ([], "invalidArguments"),
    ],
)
def test_jmap_email_bad_filters_are_refused(node: Any, error: str) -> None:
    with pytest.raises(QueryError) as raised:
        to_filter(node, _mailbox)
    assert raised.value.type == error


def test_jmap_email_text_terms_phrases_and_escapes() -> None:
    assert text_terms("  foo   bar ") == ["foo", "bar"]
    assert text_terms('"exact  phrase" word') == ["exact phrase", "word"]
    assert text_terms("'single quoted' x") == ["single quoted", "x"]
    assert text_terms(r'"say \"hi\"" \\') == ['say "hi"', "\\\\"]
    assert text_terms('unmatched "quote') == ["unmatched", '"quote']
    assert text_terms("") == []
    assert to_filter({"text": "a b"}, _mailbox) == All(
        (Contains("text", "a"), Contains("text", "b"))
    )


def test_jmap_email_every_sort_translates() -> None:
    sort = [
        {"property": "receivedAt", "isAscending": False},
        {"property": "size"},
        {"property": "from", "collation": "i;ascii-casemap"},
        {"property": "to"},
        {"property": "subject"},
        {"property": "sentAt"},
        {"property": "hasKeyword", "keyword": "$Flagged"},
        {"property": "allInThreadHaveKeyword", "keyword": "$seen"},
        {"property": "someInThreadHaveKeyword", "keyword": "$seen", "isAscending": False},
    ]
    assert to_sort(sort) == [
        Comparator("received", False),
        Comparator("size"),
        Comparator("display_from"),
        Comparator("display_to"),
        Comparator("subject"),
        Comparator("sent"),
        Comparator("keyword", True, "$flagged"),
        Comparator("thread_all_keyword", True, "$seen"),
        Comparator("thread_some_keyword", False, "$seen"),
    ]
    for bad, error in (
        ([{"property": "color"}], "unsupportedSort"),
        ([{"property": "size", "collation": "i;klingon"}], "unsupportedSort"),
        ([{"property": "hasKeyword"}], "invalidArguments"),
        ([{"property": "size", "isAscending": "yes"}], "invalidArguments"),
    ):
        with pytest.raises(QueryError) as raised:
            to_sort(bad)
        assert raised.value.type == error


def test_jmap_email_snippet_marks_and_escapes() -> None:
    terms = search_terms(
        {
            "operator": "AND",
            "conditions": [
                {"text": "foo"},
                {"subject": "<b>"},
                {"operator": "NOT", "conditions": [{"body": "never"}]},
            ],
        }
    )
    assert terms.subject == ["foo", "<b>"] and terms.body == ["foo"]
    got = snippet("E1", "The Foosball <b> & co", "x " * 200 + "the FOO game & <i>", terms)
    assert got["subject"] == "The <mark>Foo</mark>sball <mark>&lt;b&gt;</mark> &amp; co"
    assert "<mark>FOO</mark> game &amp; &lt;i&gt;" in got["preview"]
    assert len(got["preview"].replace("<mark>", "").replace("</mark>", "")) <= 255
    nothing = snippet("E2", "unrelated", "nothing here", terms)
    assert nothing == {"emailId": "E2", "subject": None, "preview": None}
    phrase = snippet("E3", None, "a  quick\nbrown fox", search_terms({"body": '"quick brown"'}))
    assert phrase["preview"] == "a <mark>quick brown</mark> fox"
