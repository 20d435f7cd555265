"""``stalwart-kernel rules test|replay`` through the kernel's CLI entry, and the
``stalwart_register_rule_engines`` hook."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import trio
import yaml
from wasm_support import EXAMPLES, GOLDEN

import plugins.wasm.plugin
from kernel.cli import main
from kernel.config.loader import ENV_CONFIG_DIR
from kernel.pluginmanager import PluginCatalog
from kernel.rules import RuleEngine, RuleEnvelope, engine_for
from kernel.testing import run_kernel

TABLES = {
    "blocked_domains": {"spam.example": ""},
    "list_folders": {"python-list.python.org": "Lists/Python"},
}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``--config`` and ``--data`` options for a site with the wasm tables configured."""
    monkeypatch.delenv(ENV_CONFIG_DIR, raising=False)
    monkeypatch.chdir(tmp_path)
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "50-wasm.yaml").write_text(yaml.safe_dump({"wasm": {"tables": TABLES}}))
    return ["--config", str(conf), "--data", str(tmp_path / "var")]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_wasm_cli_rules_test_prints_actions(
    site: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    eml = str(GOLDEN / "list_folder_known.eml")
    code, out, err = run(capsys, "rules", "test", str(EXAMPLES / "list_folder.wat"), eml, *site)
    assert code == 0, err
    assert out.splitlines() == ['delivery: fileinto "Lists/Python" :create']
    sender = ["--from", "a@mx.spam.example", "--to", "ann@example.org"]
    blocked = str(EXAMPLES / "block_senders.wat")
    code, out, _ = run(capsys, "rules", "test", blocked, eml, *sender, *site)
    assert (code, out) == (0, 'rcpt: reject 550 5.7.1 "sender domain is blocked"\n')
    code, out, _ = run(capsys, "rules", "test", blocked, eml, "--from", "a@ok.example", *site)
    assert (code, out) == (0, "keep\n")


def test_wasm_cli_rules_test_reports_bad_files(
    site: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    eml = str(GOLDEN / "list_folder_known.eml")
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\x00asm junk")
    code, out, err = run(capsys, "rules", "test", str(bad), eml, *site)
    assert code == 1 and out == "" and "bad.wasm: not a valid module" in err
    code, _out, err = run(capsys, "rules", "test", str(tmp_path / "rule.lua"), eml, *site)
    assert code == 1 and "no rule engine takes .lua" in err and ".wasm (wasm)" in err
    code, _out, err = run(
        capsys, "rules", "test", str(EXAMPLES / "body_score.wat"), "nope.eml", *site
    )
    assert code == 1 and "nope.eml" in err


def test_wasm_cli_rules_replay_dry_runs_a_mailbox(
    site: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    messages = [
        (GOLDEN / f"{case}.eml").read_bytes() for case in ("list_folder_known", "list_folder_none")
    ]

    async def fill() -> None:
        async with run_kernel(
            tmp_path / "fill",
            plugins={"wasm": plugins.wasm.plugin},
            names=["directory", "wasm"],
            config={"listeners": {}},
        ) as kernel:
            await kernel.store.directory.add_domain("example.org")
            ann = await kernel.store.directory.add_account("ann@example.org", "pw")
            inbox = await kernel.store.mailboxes.by_path(ann.id, "INBOX")
            for raw in messages:
                await kernel.store.emails.append(ann.id, raw, [inbox.id])

    trio.run(fill)
    capsys.readouterr()  # the fill kernel's output (the first admin's password)
    shutil.copytree(tmp_path / "fill" / "var", tmp_path / "var")
    rule = str(EXAMPLES / "list_folder.wat")
    code, out, err = run(capsys, "rules", "replay", "--account", "ann@example.org", rule, *site)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "# 2 messages in INBOX of ann@example.org (dry run)"
    assert (
        lines[1]
        == "uid 1 '[Python] Release candidate': delivery: fileinto \"Lists/Python\" :create"
    )
    assert lines[2] == "uid 2 'Not a list': keep"

    async def unchanged() -> None:
        async with run_kernel(
            tmp_path,
            plugins={"wasm": plugins.wasm.plugin},
            names=["directory", "wasm"],
            config={"listeners": {}},
        ) as kernel:
            ann = await kernel.store.directory.principal("ann@example.org")
            assert await kernel.store.mailboxes.by_path(ann.id, "Lists/Python") is None
            inbox = await kernel.store.mailboxes.by_path(ann.id, "INBOX")
            assert len(await kernel.store.emails.in_mailbox(ann.id, inbox.id)) == 2

    trio.run(unchanged)
    code, _out, err = run(capsys, "rules", "replay", "--account", "nobody@example.org", rule, *site)
    assert code == 1 and "no account nobody@example.org" in err


def test_hook_stalwart_register_rule_engines() -> None:
    found, _problems = PluginCatalog({"wasm": plugins.wasm.plugin}).collect_installed(
        "stalwart_register_rule_engines"
    )
    engines = [engine for plugin, engine in found if plugin == "wasm"]
    assert [engine.name for engine in engines] == ["wasm"]
    [engine] = engines
    assert isinstance(engine, RuleEngine) and engine.suffixes == (".wasm", ".wat")
    assert engine_for(Path("x.WASM"), engines) is engine
    with pytest.raises(ValueError, match=r"no rule engine takes \.sieve"):
        engine_for(Path("x.sieve"), engines)
    compiled = engine.load(EXAMPLES / "body_score.wat")
    message = (GOLDEN / "body_score_clean.eml").read_bytes()
    assert engine.run(compiled, message, RuleEnvelope("a@b.example", "c@d.example")) == [
        "data: score 0",
        "keep",
    ]
