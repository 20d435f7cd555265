"""Meta-tests: the generated reference is current and every hook is documented and tested.

The hook checks follow datasette's ``test_docs.py`` and ``test_plugins.py``
(STYLE.md §1.3, §1.10): every spec in :mod:`kernel.hookspecs` has a heading with
its exact signature in ``docs/reference/hooks.md``, a docstring that follows the
template, and a ``test_hook_<hookname>`` test somewhere under ``tests/``.
"""

from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path

import pytest

from kernel import docgen, hookspecs
from kernel.config.schema import REQUIRED, Option, Section

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"

SPECS = sorted(
    name
    for name, obj in inspect.getmembers(hookspecs)
    if callable(obj) and hasattr(obj, f"{hookspecs.PROJECT}_spec")
)


def spec(name: str):
    return getattr(hookspecs, name)


@pytest.mark.parametrize("relative", sorted(docgen.DOCUMENTS))
def test_docs_reference_is_current(relative: str) -> None:
    path = ROOT / relative
    assert path.exists(), f"{relative} is missing; run `make docs`"
    committed = path.read_text(encoding="utf-8")
    assert committed == docgen.DOCUMENTS[relative](), f"{relative} is stale; run `make docs`"


def test_docs_hook_list_covers_every_spec() -> None:
    assert SPECS, "no hook specs found"
    assert sorted(h.name for h in docgen.hook_docs()) == SPECS


@pytest.mark.parametrize("name", SPECS)
def test_docs_hook_has_signature_heading(name: str) -> None:
    headings = (ROOT / "docs/reference/hooks.md").read_text(encoding="utf-8").splitlines()
    heading = f"### {docgen.signature_text(spec(name))}"
    assert heading in headings, f"no heading {heading!r} in docs/reference/hooks.md"


@pytest.mark.parametrize("name", SPECS)
def test_docs_hook_docstring_follows_template(name: str) -> None:
    fn = spec(name)
    doc = inspect.getdoc(fn) or ""
    assert doc.strip(), f"{name} has no docstring"
    for field in ("*When called:*", ":returns:", "*May block:*", "*Since:*"):
        assert field in doc, f"{name}'s docstring lacks {field}"
    for param in inspect.signature(fn).parameters:
        assert re.search(rf"^\s*:param {param}:", doc, re.M), f"{name} lacks ':param {param}:'"
    documented = set(re.findall(r"^\s*:param (\w+):", doc, re.M))
    extra = documented - set(inspect.signature(fn).parameters)
    assert not extra, f"{name} documents parameters it does not have: {sorted(extra)}"


@functools.cache
def _test_sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(TESTS.rglob("test_*.py")))


@pytest.mark.parametrize("name", SPECS)
def test_docs_hook_has_test(name: str) -> None:
    found = re.search(rf"def test_hook_{name}\b", _test_sources()) is not None
    assert found, f"no test named test_hook_{name} under tests/"


def test_docs_render_config_groups_plugin_sections() -> None:
    kernel_section = Section("server", "Kernel.", (Option("hostname", "string", None, "Name."),))
    plugin_section = Section(
        "imap",
        "IMAP server.",
        (
            Option("limits.line", "size", "64KB", "Longest line.", reloadable=False),
            Option("mode", "string", REQUIRED, "Mode.", choices=("a", "b|c")),
        ),
        plugin="imap",
    )
    text = docgen.render_config([kernel_section, plugin_section])
    assert "\n## server\n" in text
    assert "\n## Plugin imap\n\n### imap\n\nIMAP server.\n" in text
    assert '| `imap.limits.line` | `size` | `"64KB"` | no | 0.1 | Longest line. |' in text
    assert '| `imap.mode` | `string`: one of `"a"`, `"b\\|c"` | required | yes |' in text
    assert "| `server.hostname` | `string` | — | yes |" in text


def test_docs_check_names_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert docgen.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    for relative in docgen.DOCUMENTS:
        assert relative in err
    assert not (tmp_path / "docs").exists()
    assert docgen.main(["--root", str(tmp_path)]) == 0
    assert docgen.main(["--check", "--root", str(tmp_path)]) == 0
