"""Tests for kernel.mail.addresses: address lists and msg-ids, table-driven."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.mail import Address, Group, parse_address_list, parse_message_ids
from kernel.mail.addresses import _parse_full, _parse_simple

A = Address


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("john@example.com", [A(None, "john@example.com")]),
        ("John Doe <john@example.com>", [A("John Doe", "john@example.com")]),
        ("<john@example.com>", [A(None, "john@example.com")]),
        ('"Doe, John" <john@example.com>', [A("Doe, John", "john@example.com")]),
        (
            "a@example.com, B <b@example.com>,c@example.com",
            [A(None, "a@example.com"), A("B", "b@example.com"), A(None, "c@example.com")],
        ),
        ("  John   Q.  Public  <jqp@example.com> ", [A("John Q. Public", "jqp@example.com")]),
        # RFC 5322 Appendix A.1.2 and A.1.3.
        (
            "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
            [A("Mary Smith", "mary@x.test"), A(None, "jdoe@example.org"), A("Who?", "one@y.test")],
        ),
        (
            '<boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>',
            [A(None, "boss@nil.test"), A('Giant; "Big" Box', "sysservices@example.net")],
        ),
        (
            "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
            [
                Group(
                    "A Group",
                    (
                        A("Ed Jones", "c@a.test"),
                        A(None, "joe@where.test"),
                        A("John", "jdoe@one.test"),
                    ),
                )
            ],
        ),
        ("Undisclosed recipients:;", [Group("Undisclosed recipients", ())]),
        # RFC 5322 Appendix A.5: comments and white space.
        (
            "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
            [A("Pete", "pete@silly.test")],
        ),
        (
            "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
            "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end)",
            [
                Group(
                    "A Group",
                    (
                        A("Chris Jones", "c@public.example"),
                        A(None, "joe@example.org"),
                        A("John", "jdoe@one.test"),
                    ),
                )
            ],
        ),
        ("john@example.com (John Doe)", [A("John Doe", "john@example.com")]),
        # RFC 5322 §4.4: obsolete route, dropped.
        ("<@route1,@route2:user@example.com>", [A(None, "user@example.com")]),
        ("Joe <@relay.test:joe@example.com>", [A("Joe", "joe@example.com")]),
        # Quoted local part kept as written.
        ('"john doe"@example.com', [A(None, '"john doe"@example.com')]),
        ('Name <"odd@local"@example.com>', [A("Name", '"odd@local"@example.com')]),
        # Domain literal.
        ("root@[192.0.2.1]", [A(None, "root@[192.0.2.1]")]),
        # Missing angle brackets.
        ("John Doe john@example.com", [A("John Doe", "john@example.com")]),
        # Name after the address.
        ("<x@example.com> John", [A("John", "x@example.com")]),
        # CFWS around "@" (obsolete).
        ("john @ example.com", [A(None, "john@example.com")]),
        # Encoded words in names, also inside quotes.
        ("=?utf-8?q?J=C3=B6rg?= <j@example.de>", [A("Jörg", "j@example.de")]),
        ('"=?utf-8?b?SsO2cmc=?=" <j@example.de>', [A("Jörg", "j@example.de")]),
        ("=?utf-8?q?J=C3=B6rg?= (=?utf-8?q?x?=) <j@example.de>", [A("Jörg", "j@example.de")]),
        # UTF-8 addresses (RFC 6532 §3.2).
        ("Jörg <jörg@bücher.example>", [A("Jörg", "jörg@bücher.example")]),
        # Empty and degenerate.
        ("", []),
        (" , ,", []),
        ("<>", [A(None, "")]),
        ("root", [A(None, "root")]),
        ("just some words", [A("just some words", "")]),
        # Unterminated constructs.
        ("John <john@example.com", [A("John", "john@example.com")]),
        ("Team: a@example.com", [Group("Team", (A(None, "a@example.com"),))]),
        ('"unterminated <x@y>', [A(None, '"unterminated <x@y>')]),
        ("(unterminated comment a@b", []),
        # Extra brackets and separators.
        ("a@example.com>; ;", [A(None, "a@example.com")]),
    ],
)
def test_addresses_parse_address_list(value: str, expected: list[Address | Group]) -> None:
    assert parse_address_list(value) == expected


def test_addresses_decode_false_keeps_encoded_words() -> None:
    # IMAP ENVELOPE passes names through as sent.
    value = '=?utf-8?q?J=C3=B6rg?= <j@example.de>, "=?utf-8?q?A?=" <a@example.de>'
    assert parse_address_list(value, decode=False) == [
        A("=?utf-8?q?J=C3=B6rg?=", "j@example.de"),
        A("=?utf-8?q?A?=", "a@example.de"),
    ]


_local = st.from_regex(r"[a-z0-9][a-z0-9.+_-]{0,10}", fullmatch=True)
_domain = st.from_regex(r"[a-z0-9]{1,8}\.[a-z]{2,4}", fullmatch=True)
_name = st.from_regex(r"[A-Za-z][A-Za-z .'?!-]{0,15}", fullmatch=True)


@st.composite
def _simple_lists(draw: st.DrawFn) -> str:
    items = []
    for _ in range(draw(st.integers(1, 4))):
        email = f"{draw(_local)}@{draw(_domain)}"
        shape = draw(st.integers(0, 2))
        name = draw(_name)
        items.append(
            email if shape == 0 else f"{name} <{email}>" if shape == 1 else f'"{name}" <{email}>'
        )
    return draw(st.sampled_from([", ", ",", " ,  "])).join(items)


@given(_simple_lists())
def test_addresses_fast_path_agrees_with_full_parser(value: str) -> None:
    fast = _parse_simple(value, True)
    assert fast is not None
    assert fast == _parse_full(value, True)


@given(st.text(max_size=80))
def test_addresses_never_raise(value: str) -> None:
    for entry in parse_address_list(value):
        assert isinstance(entry, Address | Group)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<a@example.org>", ["a@example.org"]),
        ("<a@example.org> <b@example.org>", ["a@example.org", "b@example.org"]),
        ("<a@example.org>\r\n\t<b@example.org>", ["a@example.org", "b@example.org"]),
        ("(comment) <a@example.org> (another)", ["a@example.org"]),
        ("<a@exa\r\n mple.org>", ["a@example.org"]),
        ("a@example.org", ["a@example.org"]),
        ("no ids here", []),
        ("<>", []),
        ("", []),
        ("<unterminated@x", []),
    ],
)
def test_addresses_parse_message_ids(value: str, expected: list[str]) -> None:
    assert parse_message_ids(value) == expected
