"""Units of the sieve plugin: SRS, verdict building, the config section, the rule engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plugins.sieve.plugin
from kernel import Filing, Kernel, Verdict
from kernel.errors import ConfigError
from kernel.rules import RuleEnvelope, engine_for
from kernel.testing import write_config
from plugins.sieve.actions import FileInto, Keep
from plugins.sieve.config import SieveConfig
from plugins.sieve.rules_engine import ENGINE
from plugins.sieve.runner import decode_compiled, encode_compiled
from plugins.sieve.srs import SrsError, forward, reverse
from plugins.sieve.store_host import parse_mailbox_id, script_file
from plugins.sieve.verdicts import filing_for, header_edits, keywords, reply_text

DAY = 86400.0
NOW = 1_750_000_000.0


# -- SRS -------------------------------------------------------------------------------


def test_sieve_plugin_srs0_round_trip() -> None:
    address = forward("carol@remote.example", "key", "mx.example.org", now=NOW)
    assert address.startswith("SRS0=") and address.endswith("@mx.example.org")
    assert "=remote.example=carol@" in address
    assert reverse(address, "key", now=NOW + DAY) == "carol@remote.example"
    # Case-folded by a relay on the way back: still valid.
    assert reverse(address.lower(), "key", now=NOW) == "carol@remote.example"


def test_sieve_plugin_srs_refuses_forgery_and_age() -> None:
    address = forward("carol@remote.example", "key", "mx.example.org", now=NOW)
    with pytest.raises(SrsError, match="hash"):
        reverse(address, "other key", now=NOW)
    forged = address.replace("=carol@", "=mallory@")
    with pytest.raises(SrsError, match="hash"):
        reverse(forged, "key", now=NOW)
    with pytest.raises(SrsError, match="expired"):
        reverse(address, "key", now=NOW + 30 * DAY, max_age=21 * DAY)
    for bad in ("carol@remote.example", "SRS0=abc@x", "SRS1=x@y"):
        with pytest.raises(SrsError):
            reverse(bad, "key", now=NOW)


def test_sieve_plugin_srs_no_rewrite_for_null_or_own_domain() -> None:
    assert forward("", "key", "mx.example.org") == ""
    assert forward("ann@mx.example.org", "key", "mx.example.org") == "ann@mx.example.org"


def test_sieve_plugin_srs1_for_forwarded_srs0() -> None:
    first = forward("carol@remote.example", "key1", "fwd.example", now=NOW)
    second = forward(first, "key2", "mx.example.org", now=NOW)
    assert second.startswith("SRS1=") and "=fwd.example==" in second
    assert reverse(second, "key2", now=NOW) == first.replace("@fwd.example", "") + "@fwd.example"
    assert reverse(reverse(second, "key2", now=NOW), "key1", now=NOW) == "carol@remote.example"


# -- verdicts --------------------------------------------------------------------------


def test_sieve_plugin_keywords_from_flags() -> None:
    problems: list[str] = []
    found = keywords(["\\Seen", "$Label1", "\\Recent", "bad flag", "\\seen"], problems.append)
    assert found == ("$seen", "$label1")
    assert len(problems) == 2


def test_sieve_plugin_filings() -> None:
    problems: list[str] = []
    assert filing_for(Keep(("\\Flagged",)), problems.append) == Filing(None, ("$flagged",))
    action = FileInto("Lists/Py", flags=(), create=True, special_use="\\Junk", mailbox_id="F12")
    assert filing_for(action, problems.append) == Filing(
        "Lists/Py", (), create=True, special_use="junk", mailbox_id=12
    )
    # A name the pipeline cannot take falls back to the default mailbox.
    assert filing_for(FileInto("a\nb"), problems.append) == Filing(None, ())
    assert problems and "cannot file" in problems[0]


def test_sieve_plugin_reply_text() -> None:
    assert reply_text("go\r\naway  now") == "go away now"
    assert reply_text("caf\u00e9") == "caf?"
    assert reply_text("") == "rejected by a Sieve script"
    assert len(reply_text("x" * 5000)) == 300


ORIGINAL = (
    b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    b"Subject: hi\r\nX-A: 1\r\nX-A: 2\r\nX-B: keep\r\n\r\nbody\r\n"
)


def test_sieve_plugin_header_edits_add_and_delete() -> None:
    edited = b"X-New: top\r\n" + ORIGINAL.replace(b"X-A: 1\r\n", b"") + b""
    problems: list[str] = []
    adds, removes = header_edits(ORIGINAL, edited, problems.append)
    assert removes == ("X-A",)
    assert adds == (("X-New", "top"), ("X-A", "2"))
    assert problems == []
    assert header_edits(ORIGINAL, None, problems.append) == ((), ())
    assert header_edits(ORIGINAL, ORIGINAL, problems.append) == ((), ())


def test_sieve_plugin_header_edits_protects_trace_and_long_values() -> None:
    problems: list[str] = []
    edited = ORIGINAL.replace(b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n", b"")
    assert header_edits(ORIGINAL, edited, problems.append) == ((), ())
    assert "received" in problems[0]
    long_value = b"X-Long: " + b"y" * 500 + b"\r\n"
    assert header_edits(ORIGINAL, long_value + ORIGINAL, problems.append) == ((), ())
    assert "too long" in problems[1]


def test_sieve_plugin_mailbox_ids_and_script_files() -> None:
    assert parse_mailbox_id("F42") == 42 and parse_mailbox_id("42") == 42
    assert parse_mailbox_id("M42") is None and parse_mailbox_id("F") is None
    assert parse_mailbox_id("F" + "9" * 30) is None
    assert script_file("/etc/sieve", "spam") == Path("/etc/sieve/spam.sieve")
    for bad in ("../x", "a/b", ".hidden", ""):
        assert script_file("/etc/sieve", bad) is None
    assert script_file(None, "spam") is None


def test_sieve_plugin_compiled_cache_form() -> None:
    from plugins.sieve import compile_script

    script = compile_script('require "fileinto"; fileinto "x";')
    assert decode_compiled(encode_compiled(script)) == script
    for bad in (None, b"", b"not json", b'{"version": 999, "commands": []}', b"[]"):
        assert decode_compiled(bad) is None


# -- config ----------------------------------------------------------------------------


def _kernel(tmp_path: Path, sieve: dict[str, Any]) -> Kernel:
    conf = tmp_path / "conf"
    write_config(conf, {"sieve": sieve})
    return Kernel(
        data_dir=tmp_path / "var",
        layers=[conf],
        plugins=["directory", "sieve"],
        extra_plugins={"sieve": plugins.sieve.plugin},
        environ={},
    )


def test_sieve_plugin_config_defaults_and_units(tmp_path: Path) -> None:
    kernel = _kernel(tmp_path, {"max_run_time": "250ms", "vacation": {"min_period": "12h"}})
    conf = SieveConfig.from_config(kernel.config, "mx.example.org")
    assert conf.max_run_time == 0.25 and conf.vacation_min_period == 43200
    assert conf.vacation_default_period == 7 * 86400 and conf.max_redirects == 4
    assert conf.postmaster == "postmaster@mx.example.org"
    assert conf.srs_domain == "mx.example.org" and conf.redirect_sender == "keep"
    assert conf.limits().max_run_seconds == 0.25
    assert conf.settings("ann@example.org").user_email == "ann@example.org"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"redirect": {"sender": "srs"}}, "srs.secret is not set"),
        ({"vacation": {"min_period": "10d", "default_period": "7d"}}, "min_period"),
        ({"redirect": {"sender": "rewrite"}}, "rewrite"),
        ({"max_redirects": -1}, "max_redirects"),
        ({"no_such_option": 1}, "no_such_option"),
        ({"system": {"rcpt": " "}}, "empty script path"),
    ],
)
def test_sieve_plugin_config_rejects(tmp_path: Path, bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _kernel(tmp_path, bad)


# -- the rule engine -------------------------------------------------------------------


def test_sieve_plugin_rule_engine(tmp_path: Path) -> None:
    rule = tmp_path / "rule.sieve"
    rule.write_text(
        'require ["fileinto", "imap4flags", "editheader"];\n'
        'addheader "X-Rule" "yes";\n'
        'if header :contains "subject" "lists" { fileinto :flags "\\\\Seen" "Lists"; stop; }\n'
        'redirect "x@remote.example";\n'
    )
    assert engine_for(rule, plugins.sieve.plugin.stalwart_register_rule_engines()) is ENGINE
    compiled = ENGINE.load(rule)
    envelope = RuleEnvelope("carol@remote.example", "ann@example.org")
    lines = ENGINE.run(compiled, b"Subject: python lists\r\n\r\nhi\r\n", envelope)
    assert lines == ['addheader "X-Rule" "yes"', 'fileinto :flags ["\\\\Seen"] "Lists"']
    lines = ENGINE.run(compiled, b"Subject: other\r\n\r\nhi\r\n", envelope)
    assert lines == ['addheader "X-Rule" "yes"', 'redirect "x@remote.example"']
    assert ENGINE.run(ENGINE.load(_write(tmp_path, "keep;")), b"\r\n", envelope) == ["keep"]


def test_sieve_plugin_rule_engine_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="line 2"):
        ENGINE.load(_write(tmp_path, 'keep;\nfileinto "x";'))
    with pytest.raises(OSError):
        ENGINE.load(tmp_path / "missing.sieve")
    failing = ENGINE.load(_write(tmp_path, 'require "ihave"; error "nope";'))
    lines = ENGINE.run(failing, b"\r\n", RuleEnvelope())
    assert lines[0].startswith("error ") and "nope" in lines[0] and lines[-1] == "keep"


def _write(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "script.sieve"
    path.write_text(source)
    return path


# -- hostile input -----------------------------------------------------------------------

_FIELD = st.tuples(
    st.sampled_from(["Subject", "X-A", "Received", "Return-Path", "x-a", "X-\u00e9", "To"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=600),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_FIELD, max_size=8), st.lists(_FIELD, max_size=8), st.binary(max_size=200))
def test_sieve_plugin_header_edits_always_make_valid_verdicts(
    before: list[tuple[str, str]], after: list[tuple[str, str]], noise: bytes
) -> None:
    def raw(fields: list[tuple[str, str]]) -> bytes:
        head = "".join(f"{name}: {value}\r\n" for name, value in fields)
        return head.encode("utf-8", "surrogateescape") + b"\r\n" + noise

    problems: list[str] = []
    adds, removes = header_edits(raw(before), raw(after), problems.append)
    # Whatever the script did to the header, the verdict can be built.
    Verdict.accept(add_headers=adds, remove_headers=removes)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_sieve_plugin_srs_reverse_hostile_input(address: str) -> None:
    # Random text is refused with SrsError (never another exception), since forging
    # the hash by chance is as good as impossible.
    with pytest.raises(SrsError):
        reverse(address, "key", now=NOW)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=500))
def test_sieve_plugin_reply_text_is_always_a_valid_reject(text: str) -> None:
    Verdict.reject(reply_text(text))
