"""The test-only vnd.dovecot.testsuite runner, on small synthetic files."""

from __future__ import annotations

from pathlib import Path

from plugins.sieve.testsuite import list_blocks, run_file

SUITE = """require "vnd.dovecot.testsuite";
require ["fileinto", "relational", "comparator-i;ascii-numeric"];

test_set "message" text:
From: a@example.org
To: b@example.org
Subject: Frop

Body
.
;

test "Passes" {
\tif not header :is "subject" "Frop" { test_fail "subject"; }
}

test "Fails" {
\ttest_fail "on purpose";
}

test "Stores" {
\tfileinto "Missing";
\tif test_result_execute { test_fail "should have failed"; }
\tif not test_message :folder "INBOX" 0 { test_fail "not kept in INBOX"; }
}

test "Counts" {
\tif test_script_compile "broken.sieve" { test_fail "compiled"; }
\tif not test_error :count "eq" :comparator "i;ascii-numeric" "5" { test_fail "count"; }
}

test "Skipped by name" { test_fail "must not run"; }

test "Stops" { stop; }

test "Never reached" { test_fail "after stop"; }
"""


def write(tmp_path: Path) -> Path:
    (tmp_path / "broken.sieve").write_text("frob;\nfrab;\n")
    path = tmp_path / "suite.svtest"
    path.write_text(SUITE)
    return path


def test_testsuite_lists_blocks(tmp_path: Path) -> None:
    names = [name for name, _line in list_blocks(write(tmp_path).read_bytes())]
    assert names == [
        "Passes",
        "Fails",
        "Stores",
        "Counts",
        "Skipped by name",
        "Stops",
        "Never reached",
    ]


def test_testsuite_block_outcomes(tmp_path: Path) -> None:
    report = run_file(write(tmp_path), skip_blocks={"Skipped by name": "reason"})
    outcome = {block.name: (block.status, block.reason) for block in report.blocks}
    assert outcome["Passes"] == ("passed", "")
    assert outcome["Fails"] == ("failed", "on purpose")
    assert outcome["Stores"] == ("passed", "")
    # Two compile errors, where the file expects five: a plain failure ...
    assert outcome["Counts"] == ("failed", "count")
    assert outcome["Skipped by name"] == ("skipped", "reason")
    assert outcome["Stops"] == ("passed", "")
    assert outcome["Never reached"][0] == "skipped"


def test_testsuite_portable_error_counts(tmp_path: Path) -> None:
    # ... and in portable mode a count that differs only in size is a skip.
    report = run_file(write(tmp_path), portable_checks=True)
    counts = next(block for block in report.blocks if block.name == "Counts")
    assert counts.status == "skipped"
    assert "count eq 5" in counts.reason and "reported 2" in counts.reason


def test_testsuite_expect_failure_mode(tmp_path: Path) -> None:
    path = tmp_path / "crash.svtest"
    path.write_text('require "vnd.dovecot.testsuite";\ntest "x" { test_fail "boom"; }\n')
    assert [b.status for b in run_file(path, expect_failure=True).blocks] == ["passed"]
    path.write_text('require "vnd.dovecot.testsuite";\ntest "x" { keep; }\n')
    assert [b.status for b in run_file(path, expect_failure=True).blocks] == ["failed"]


def test_testsuite_compile_failure_fails_every_block(tmp_path: Path) -> None:
    path = tmp_path / "bad.svtest"
    path.write_text('require "vnd.dovecot.testsuite";\ntest "x" { frob; }\n')
    (block,) = run_file(path).blocks
    assert block.status == "failed" and "does not compile" in block.reason
