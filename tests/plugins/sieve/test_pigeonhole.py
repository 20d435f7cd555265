"""Pigeonhole's Sieve test suite (``tests/fixtures/sieve-tests``), one test per ``test`` block.

Each ``.svtest`` file listed in ``pigeonhole-tests.tsv`` runs once (its blocks share
state, README §3) through :func:`plugins.sieve.testsuite.run_file`; every block is then
reported as its own test, with the id ``path::block name`` (a name used twice in one file
gets `` [2]``).

Skips come from the TSV ``flags`` column:

* ``error-count`` / ``error-text``: ``test_error`` runs in portable mode. Checks that
  hold pass; a count check that differs only in the number of errors (errors reported
  where Pigeonhole reports some, none where it reports none) and any check of
  Pigeonhole's English wording end the block as skipped, with the reason.
* ``expects-pigeonhole-identity``, ``dovecot-dict-storage``, ``cpu-limit``: the block
  named in :data:`BLOCK_SKIPS` is skipped with the reason given there.
* ``expect-failure``: the file runs in expect-failure mode.

Blocks that fail for a reason this implementation knowingly does not meet are listed in
:data:`XFAIL` (and in ``docs/sieve.md``); any other failure fails the suite.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from plugins.sieve.testsuite import FileReport, list_blocks, run_file

# The kept files of the suite (LGPL 2.1, see its COPYING) are in tests/fixtures, so
# the conformance run never depends on anything outside the repository.
SUITE = Path(
    os.environ.get(
        "SIEVE_TESTS_DIR", Path(__file__).resolve().parents[2] / "fixtures" / "sieve-tests"
    )
)
TESTS = SUITE / "pigeonhole" / "tests"
TSV = SUITE / "pigeonhole-tests.tsv"

PORTABLE_FLAGS = frozenset({"error-count", "error-text"})
# flag -> (block name, reason)
BLOCK_SKIPS: dict[str, tuple[str, str]] = {
    "expects-pigeonhole-identity": (
        "Name",
        "expects-pigeonhole-identity: checks that the environment item 'name' is "
        "'Pigeonhole Sieve', i.e. the identity of Dovecot's implementation",
    ),
    "dovecot-dict-storage": (
        "Namespace - dict",
        "dovecot-dict-storage: includes served from Dovecot's dict:file: script storage",
    ),
    "cpu-limit": (
        "CPU limit",
        "cpu-limit: the workload relies on Pigeonhole splitting a multipart with an empty "
        "boundary into ~340 parts and on PCRE timings; the shared MIME parser reads it as "
        "one text part and the run ends in milliseconds. Run-time limits are covered by "
        "tests/plugins/sieve/test_sieve_limits.py",
    ),
}
# (path, block name) -> reason; each entry is listed in docs/sieve.md.
XFAIL: dict[tuple[str, str], str] = {}


def _rows() -> list[dict[str, str]]:
    with TSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _flags(row: dict[str, str]) -> frozenset[str]:
    return frozenset(flag for flag in row["flags"].split(",") if flag)


@cache
def _report(path: str, flags: frozenset[str]) -> FileReport:
    skips = {name: reason for flag, (name, reason) in BLOCK_SKIPS.items() if flag in flags}
    return run_file(
        TESTS / path,
        expect_failure="expect-failure" in flags,
        portable_checks=bool(flags & PORTABLE_FLAGS),
        skip_blocks=skips,
    )


def _params() -> list[object]:
    if not TSV.exists():
        return []
    params = []
    for row in _rows():
        path = row["path"]
        seen: Counter[str] = Counter()
        for index, (name, _line) in enumerate(list_blocks((TESTS / path).read_bytes())):
            seen[name] += 1
            suffix = f" [{seen[name]}]" if seen[name] > 1 else ""
            params.append(pytest.param(path, index, _flags(row), id=f"{path}::{name}{suffix}"))
    return params


@pytest.mark.parametrize(("path", "index", "flags"), _params())
def test_pigeonhole(path: str, index: int, flags: frozenset[str]) -> None:
    block = _report(path, flags).blocks[index]
    if block.status == "passed":
        return
    if block.status == "skipped":
        pytest.skip(block.reason)
    expected = XFAIL.get((path, block.name))
    if expected is not None:
        pytest.xfail(expected)
    pytest.fail(f"{block.name}: {block.reason}", pytrace=False)


def test_pigeonhole_suite_is_complete() -> None:
    rows = _rows()
    assert len(rows) == 131
    assert sum(int(row["live_blocks"]) for row in rows) == len(_params()) == 635
