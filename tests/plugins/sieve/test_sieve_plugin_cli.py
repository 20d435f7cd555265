"""``stalwart-kernel rules test`` with a Sieve script, through the kernel's CLI entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.cli import main
from kernel.config.loader import ENV_CONFIG_DIR

MESSAGE = (
    b"From: Carol <carol@remote.example>\r\nTo: ann@example.org\r\n"
    b"Subject: [Python] release\r\nList-Id: <python.example>\r\n\r\nhi\r\n"
)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.delenv(ENV_CONFIG_DIR, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    return ["--config", str(tmp_path / "conf"), "--data", str(tmp_path / "var")]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sieve_plugin_cli_rules_test(
    site: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rule = tmp_path / "lists.sieve"
    rule.write_text(
        'require ["fileinto", "mailbox", "vacation"];\n'
        'if exists "list-id" { fileinto :create "Lists"; }\n'
        'vacation :days 3 "away";\n'
    )
    eml = tmp_path / "m.eml"
    eml.write_bytes(MESSAGE)
    code, out, err = _run(capsys, "rules", "test", str(rule), str(eml), *site)
    assert code == 0, err
    assert out.splitlines() == ['fileinto :create "Lists"', 'vacation :days 3 "away"']


def test_sieve_plugin_cli_rules_test_compile_error(
    site: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rule = tmp_path / "bad.sieve"
    rule.write_text('require "fileinto";\nfileinto;\n')
    eml = tmp_path / "m.eml"
    eml.write_bytes(MESSAGE)
    code, _out, err = _run(capsys, "rules", "test", str(rule), str(eml), *site)
    assert code != 0 and "line 2" in err
