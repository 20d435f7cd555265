"""Smaller extensions: subaddress, relational, duplicate, environment, ihave, metadata,
spamtest/virustest, include, and vnd.dovecot.debug."""

from __future__ import annotations

import pytest
from sieve_support import ENVELOPE, host, names, run

from plugins.sieve import DuplicateMark, Envelope, FileInto, ScoreSource, Settings


def hit(source: str, **kwargs: object) -> bool:
    return names(run(source + " { discard; }", **kwargs)) == ["discard"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("part", "key", "expected"),
    [(":user", "bob", True), (":detail", "lists", True), (":detail", "", False)],
)
def test_subaddress(part: str, key: str, expected: bool) -> None:
    # RFC 5233 §4: user and detail around the separator.
    assert hit(f'require ["subaddress", "envelope"]; if envelope {part} "to" "{key}"') is expected


def test_subaddress_without_detail_and_custom_separators() -> None:
    envelope = Envelope("a@b.c", "bob@example.com")
    assert not hit(
        'require ["subaddress", "envelope"]; if envelope :detail "to" ""', envelope=envelope
    )
    envelope = Envelope("a@b.c", "bob-x+y@example.com")
    settings = Settings(recipient_delimiter="-+")
    source = 'require ["subaddress", "envelope"]; if envelope :detail "to" "x+y"'
    assert hit(source, envelope=envelope, settings=settings)


def test_relational_on_addresses() -> None:
    base = 'require ["relational", "comparator-i;ascii-numeric"]; if address '
    assert hit(base + ':count "eq" :comparator "i;ascii-numeric" "to" "2"')
    assert hit(base + ':value "gt" :all "from" "aaa"')


def test_duplicate_checks_the_host_and_marks() -> None:
    outcome = run('require "duplicate"; if duplicate { discard; }')
    (mark, keep) = outcome.actions
    assert isinstance(mark, DuplicateMark) and mark.seconds == 12 * 3600
    assert names(
        run('require "duplicate"; if duplicate { discard; }', static=host(seen={mark.key}))
    ) == ["discard"]
    # A different handle is a different key (RFC 7352 §3.1).
    other = run('require "duplicate"; if duplicate :handle "x" :seconds 60 { discard; }')
    assert isinstance(other.actions[0], DuplicateMark) and other.actions[0].key != mark.key
    # Without a Message-ID there is nothing to track.
    assert names(run('require "duplicate"; if duplicate { discard; }', b"Subject: x\r\n\r\nb")) == [
        "implicit-keep"
    ]
    del keep


def test_environment_items_come_from_the_host() -> None:
    static = host(items={"name": "Stalwart", "phase": "during"})
    assert hit('require "environment"; if environment :is "phase" "during"', static=static)
    assert not hit('require "environment"; if environment :contains "domain" ""', static=static)


def test_ihave_and_error() -> None:
    assert hit('require "ihave"; if ihave ["fileinto", "body"]')
    assert not hit('require "ihave"; if ihave "variables"')
    outcome = run('require "ihave"; error "Something failed.";')
    assert not outcome.ok and "Something failed." in str(outcome.error)


def test_metadata_tests() -> None:
    static = host(
        mailbox_metadata={("INBOX", "/private/comment"): "Hello"},
        server_metadata={"/shared/admin": "admin@example.com"},
    )
    base = 'require ["mboxmetadata", "servermetadata"]; if '
    assert hit(base + 'metadata :is "INBOX" "/private/comment" "hello"', static=static)
    assert hit(base + 'metadataexists "INBOX" "/private/comment"', static=static)
    assert not hit(base + 'metadataexists "INBOX" ["/private/comment", "/x"]', static=static)
    assert hit(base + 'servermetadata :contains "/shared/admin" "admin@"', static=static)
    assert hit(base + 'servermetadataexists "/shared/admin"', static=static)
    assert not hit(base + 'metadata "INBOX" "/private/missing" ""', static=static)


SPAM = b"X-Spam: No, score=4.0 required=5.0\r\nX-Level: ***\r\nX-Virus: Clean\r\n\r\nbody\r\n"


def test_spamtest_score_strlen_and_percent() -> None:
    score = Settings(
        spamtest=ScoreSource(
            "score", r"X-Spam: score=(-?[0-9.]+)", max_header=r"X-Spam: required=([0-9.]+)"
        )
    )
    base = 'require ["spamtestplus", "relational", "comparator-i;ascii-numeric"]; if spamtest '
    # 4.0 of 5.0 is 80 %, which maps to 1 + 9 * 0.8 = 8 (RFC 5235 §3.2.1).
    assert hit(base + ':value "eq" :comparator "i;ascii-numeric" "8"', message=SPAM, settings=score)
    assert hit(base + ':percent :is "80"', message=SPAM, settings=score)
    strlen = Settings(spamtest=ScoreSource("strlen", "X-Level", max_value=6))
    assert hit(base + ':is "5"', message=SPAM, settings=strlen)
    assert hit(base + ':is "0"', message=SPAM)  # not configured: not tested
    assert hit(base + ':count "eq" :comparator "i;ascii-numeric" "0"', message=SPAM)


def test_virustest_text_values() -> None:
    settings = Settings(
        virustest=ScoreSource(
            "text", "X-Virus", text_values=("Clean", None, None, None, "Infected")
        )
    )
    base = 'require "virustest"; if virustest '
    assert hit(base + ':is "1"', message=SPAM, settings=settings)


def test_include_runs_scripts_from_the_host_with_globals() -> None:
    static = host(
        scripts={
            ("personal", "lists"): (
                'require ["include", "variables", "fileinto"]; global "box";'
                'if header :contains "to" "lists" { fileinto "${box}"; return; } discard;'
            ),
            ("global", "spam"): 'require "fileinto"; fileinto "Spam";',
        }
    )
    source = (
        'require ["include", "variables"]; global "box"; set "box" "Lists";\n'
        'include "lists"; include :global :once "spam"; include :global :once "spam";\n'
        'include :optional "missing";'
    )
    outcome = run(source, static=static)
    assert outcome.actions == (FileInto("Lists"), FileInto("Spam"))


def test_include_errors() -> None:
    static = host(scripts={("personal", "self"): 'require "include"; include "self";'})
    outcome = run('require "include"; include "self";', static=static)
    assert not outcome.ok and "circular include" in str(outcome.error)
    outcome = run('require "include"; include "missing";')
    assert not outcome.ok and "does not exist" in str(outcome.error)


def test_vnd_dovecot_debug_is_a_no_op() -> None:
    assert run('require "vnd.dovecot.debug"; debug_log "x";', envelope=ENVELOPE).ok
