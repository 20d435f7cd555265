"""The interpreter and the base language (RFC 5228): control, core tests, actions."""

from __future__ import annotations

import pytest
from sieve_support import ENVELOPE, MESSAGE, names, run

from plugins.sieve import (
    Discard,
    Envelope,
    FileInto,
    Interpreter,
    Keep,
    Redirect,
    Reject,
    StaticHost,
    compile_script,
)


def test_interpreter_empty_script_keeps_implicitly() -> None:
    # RFC 5228 §2.10.2: without any action, the message is kept.
    outcome = run("")
    assert outcome.ok
    assert outcome.actions == (Keep(None, implicit=True),)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("keep;", ["keep"]),
        ("discard;", ["discard"]),
        ('require "fileinto"; fileinto "A";', ["store"]),
        ('require ["fileinto", "copy"]; fileinto :copy "A";', ["store", "implicit-keep"]),
        ('redirect "x@example.net";', ["redirect"]),
        ('require "copy"; redirect :copy "x@example.net";', ["redirect", "implicit-keep"]),
        ('require "reject"; reject "no";', ["reject"]),
        ('require "vacation"; vacation "away";', ["vacation", "implicit-keep"]),
        ("discard; require_missing;" if False else "discard; keep;", ["discard", "keep"]),
    ],
)
def test_interpreter_implicit_keep_rules(source: str, expected: list[str]) -> None:
    # RFC 5228 §2.10.2: fileinto, redirect, discard, reject and keep cancel the implicit
    # keep; RFC 3894 §3: ":copy" does not; RFC 5230 §4.7: vacation does not.
    assert names(run(source)) == expected


def test_interpreter_if_elsif_else_chain() -> None:
    source = (
        'require "fileinto";\n'
        'if header :is "subject" "nope" { fileinto "A"; }\n'
        'elsif header :contains "subject" "hello" { fileinto "B"; }\n'
        'elsif true { fileinto "C"; }\n'
        'else { fileinto "D"; }\n'
    )
    assert run(source).actions == (FileInto("B"),)


def test_interpreter_stop_ends_the_script() -> None:
    # RFC 5228 §3.3: stop ends all processing; the implicit keep still applies.
    assert names(run("if true { stop; } discard;")) == ["implicit-keep"]


def test_interpreter_tests_short_circuit() -> None:
    # RFC 5228 §5.2/§5.3 and RFC 5229 §3.2: evaluation stops as soon as the result is known.
    source = (
        'require "variables";\n'
        'if anyof (true, header :matches "subject" "*") { set "x" "${1}"; }\n'
        'if string :is "${x}" "" { discard; }'
    )
    assert names(run(source)) == ["discard"]


def test_interpreter_header_test_reads_decoded_unfolded_values() -> None:
    message = b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus\r\n Berlin\r\nX-Empty:\r\n\r\nbody\r\n"
    assert names(run('if header :is "subject" "Grüße aus Berlin" { discard; }', message)) == [
        "discard"
    ]
    assert names(run('if header :is "x-empty" "" { discard; }', message)) == ["discard"]
    assert names(run('if header :contains "x-missing" "" { discard; }', message)) == [
        "implicit-keep"
    ]


def test_interpreter_exists_needs_every_header() -> None:
    assert names(run('if exists ["from", "to"] { discard; }')) == ["discard"]
    assert names(run('if exists ["from", "x-nope"] { discard; }')) == ["implicit-keep"]


@pytest.mark.parametrize(
    ("part", "key"),
    [(":all", "carol@example.net"), (":localpart", "carol"), (":domain", "EXAMPLE.NET")],
)
def test_interpreter_address_parts(part: str, key: str) -> None:
    # RFC 5228 §2.7.4: the address test acts on the addr-spec, never on display names.
    assert names(run(f'if address {part} "to" "{key}" {{ discard; }}')) == ["discard"]
    assert names(run('if address :is "to" "Carol" { discard; }')) == ["implicit-keep"]


def test_interpreter_size_test() -> None:
    size = len(MESSAGE)
    assert names(run(f"if size :over {size - 1} {{ discard; }}")) == ["discard"]
    # RFC 5228 §5.9: a message of exactly N octets is neither over nor under N.
    assert names(run(f"if anyof (size :over {size}, size :under {size}) {{ discard; }}")) == [
        "implicit-keep"
    ]


def test_interpreter_duplicate_stores_and_redirects_are_merged() -> None:
    # RFC 5228 §2.10.3 and §4.2: one store per mailbox, one redirect per address.
    source = (
        'require "fileinto";\n'
        'keep; fileinto "INBOX"; fileinto "A"; fileinto "A";\n'
        'redirect "x@example.net"; redirect "X <x@example.net>";'
    )
    assert run(source).actions == (Keep(), FileInto("A"), Redirect("x@example.net"))


def test_interpreter_conflicting_actions_are_a_runtime_error() -> None:
    # RFC 5429 §2.4: one reject only, and not with vacation; delivery with it is refused.
    outcome = run('require "reject";\nkeep;\nreject "go away";')
    assert not outcome.ok
    assert outcome.error is not None and (outcome.error.line, outcome.error.column) == (3, 1)
    assert outcome.actions == (Keep(None, implicit=True),)
    assert outcome.requested == (Keep(),)
    assert not run('require ["reject", "vacation"]; vacation "x"; reject "y";').ok
    assert not run('require "reject"; reject "x"; reject "y";').ok


def test_interpreter_runtime_error_keeps_original_message() -> None:
    outcome = run(
        'require ["editheader", "variables"]; addheader "X-A" "1"; set "a" "bad"; redirect "${a}";'
    )
    assert not outcome.ok
    assert outcome.message is None and outcome.messages == (None,)


def test_interpreter_outcome_messages_follow_editheader() -> None:
    # RFC 5293 §7: actions use the header as it is when they are executed.
    source = (
        'require ["editheader", "fileinto"];\n'
        'addheader "X-First" "1"; fileinto "A";\n'
        'deleteheader "X-First"; addheader "X-Second" "2"; keep;\n'
    )
    outcome = run(source)
    assert names(outcome) == ["store", "keep"]
    stored, kept = outcome.messages
    assert stored is not None and b"X-First: 1\r\n" in stored
    assert kept is not None and b"X-Second: 2" in kept and b"X-First" not in kept
    assert outcome.message == kept


def test_interpreter_reuses_a_result_across_scripts() -> None:
    interpreter = Interpreter()
    result = interpreter.new_result(MESSAGE)
    first = compile_script("discard;")
    second = compile_script('redirect "x@example.net";')
    interpreter.run(first, MESSAGE, ENVELOPE, StaticHost(), result=result)
    outcome = interpreter.run(second, MESSAGE, ENVELOPE, StaticHost(), result=result)
    assert outcome.actions == (Discard(), Redirect("x@example.net"))


def test_interpreter_envelope_test() -> None:
    envelope = Envelope("", "user+tag@example.com", "alias@example.com", "user")
    source = 'require "envelope"; if envelope :is "from" "" { discard; }'
    assert names(run(source, envelope=envelope)) == ["discard"]
    source = 'require "envelope"; if envelope :is "orig_to" "alias@example.com" { discard; }'
    assert names(run(source, envelope=envelope)) == ["discard"]
    source = 'require "envelope"; if envelope :domain "to" "example.com" { discard; }'
    assert names(run(source, envelope=envelope)) == ["discard"]


def test_interpreter_reject_reason_and_ereject() -> None:
    assert run('require "reject"; reject "nope";').actions == (Reject("nope"),)
    assert run('require "ereject"; ereject "nope";').actions == (Reject("nope", extended=True),)
