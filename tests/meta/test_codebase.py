"""Meta-tests: rules about the code base as a whole (STYLE.md §1.10, §1.12, §1.13).

* module size: nothing under ``kernel/`` or ``plugins/`` over 800 lines unless
  its docstring says "size justified:"; modules over 600 lines are listed in
  the captured output of ``test_codebase_module_size_limit`` (``pytest -rP``)
  as candidates for review, without failing;
* sans-IO: nothing under ``plugins/*/proto/`` (nor ``kernel/net/proxy.py``)
  imports trio;
* every module has a docstring (an empty ``__init__.py`` has nothing to
  document and is exempt);
* ``kernel.__all__`` exists, is sorted the way ruff's RUF022 sorts it, and
  every name resolves; exported classes are ``@final`` unless they are
  exceptions, Protocols or Enums [TR test_exports];
* every RFC cited in code is listed in ``docs/rfc/index.tsv``.
"""

from __future__ import annotations

import ast
import enum
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("kernel", "plugins")
MAX_LINES = 800
REVIEW_LINES = 600
SIZE_JUSTIFIED = "size justified:"
SANS_IO_FILES = ("kernel/net/proxy.py",)
RFC_INDEX = ROOT / "docs/rfc/index.tsv"
RFC_CITATION = re.compile(r"RFC ?(\d{3,5})")


def source_files() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py") if p.is_file())


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_codebase_has_source_files() -> None:
    assert any(rel(p) == "kernel/__init__.py" for p in source_files())


def test_codebase_test_file_names_are_unique() -> None:
    """Test directories are not packages: pytest imports each test file by its bare
    name, so two files with one name in different directories break collection.
    Name them after what they test (``test_imap_search.py``, ``test_smtp_auth.py``)."""
    seen: dict[str, str] = {}
    clashes = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if "fixtures" in path.parts:
            continue
        if path.name in seen and path.name not in ("__init__.py", "conftest.py"):
            clashes.append(f"{seen[path.name]} and {rel(path)}")
        seen.setdefault(path.name, rel(path))
    assert not clashes, f"test modules sharing a name: {clashes}"


def test_codebase_module_size_limit() -> None:
    too_long, review = [], []
    for path in source_files():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines <= REVIEW_LINES:
            continue
        docstring = ast.get_docstring(parse(path)) or ""
        if lines > MAX_LINES and SIZE_JUSTIFIED not in docstring:
            too_long.append(f"{rel(path)}: {lines} lines")
        else:
            review.append(f"{rel(path)}: {lines} lines")
    if review:
        print(f"modules over {REVIEW_LINES} lines, to review:", *review, sep="\n  ")
    assert not too_long, (
        f"modules over {MAX_LINES} lines (split them, or justify with "
        f"'{SIZE_JUSTIFIED}' in the module docstring): {too_long}"
    )


def sans_io_files() -> list[Path]:
    files = [p for p in (ROOT / "plugins").glob("*/proto/**/*.py") if p.is_file()]
    files += [ROOT / f for f in SANS_IO_FILES if (ROOT / f).exists()]
    return sorted(files)


def trio_imports(tree: ast.Module) -> list[int]:
    """Line numbers of every ``import trio...`` / ``from trio... import``."""

    def is_trio(name: str | None) -> bool:
        return name is not None and (name == "trio" or name.startswith("trio."))

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        else:
            continue
        if any(is_trio(name) for name in names):
            lines.append(node.lineno)
    return lines


def test_codebase_trio_import_detection() -> None:
    tree = ast.parse(
        "import os\nimport trio.lowlevel\nfrom trio import sleep\nimport trio_websocket\n"
    )
    assert trio_imports(tree) == [2, 3]


def test_codebase_sans_io_never_imports_trio() -> None:
    offenders = [
        f"{rel(path)}:{line}" for path in sans_io_files() for line in trio_imports(parse(path))
    ]
    assert not offenders, f"sans-IO modules import trio: {offenders}"


def test_codebase_every_module_has_docstring() -> None:
    missing = []
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        if path.name == "__init__.py" and not text.strip():
            continue
        if not ast.get_docstring(parse(path)):
            missing.append(rel(path))
    assert not missing, f"modules without a docstring: {missing}"


def _natural(name: str) -> list[tuple[str, int]]:
    return [(c, 0) if not c.isdigit() else ("0", int(c)) for c in re.findall(r"\d+|\D+", name)]


def ruff_all_key(name: str) -> tuple[int, list[tuple[str, int]]]:
    """Ruff's RUF022 order: SCREAMING_CASE, then CamelCase, then the rest; natural sort."""
    if len(name) > 1 and re.fullmatch(r"[A-Z0-9_]*[A-Z][A-Z0-9_]*", name):
        category = 0
    elif name[:1].isupper():
        category = 1
    else:
        category = 2
    return category, _natural(name)


def test_codebase_ruff_all_key_matches_ruff() -> None:
    # The order ruff --fix gives for RUF022.
    expected = ["A1", "ABC", "A_2", "A_10", "X_Y", "__X", "AB_c", "Config", "T", "_1", "_Foo", "a"]
    assert sorted(reversed(expected), key=ruff_all_key) == expected


def test_codebase_kernel_exports_resolve_and_are_sorted() -> None:
    import kernel

    exported = getattr(kernel, "__all__", None)
    assert exported is not None, "kernel/__init__.py must define __all__"
    assert list(exported) == sorted(exported, key=ruff_all_key), "kernel.__all__ is not sorted"
    assert len(set(exported)) == len(exported), "kernel.__all__ has duplicates"
    missing = [name for name in exported if not hasattr(kernel, name)]
    assert not missing, f"in kernel.__all__ but not importable from kernel: {missing}"


def test_codebase_exported_classes_are_final() -> None:
    import kernel

    not_final = []
    for name in getattr(kernel, "__all__", ()):
        obj = getattr(kernel, name, None)
        if not isinstance(obj, type) or name.startswith("_"):
            continue
        if issubclass(obj, BaseException | enum.Enum) or getattr(obj, "_is_protocol", False):
            continue
        if not getattr(obj, "__final__", False):
            not_final.append(name)
    assert not not_final, f"exported classes not decorated @typing.final: {not_final}"


def read_rfc_index() -> set[int]:
    rows = RFC_INDEX.read_text(encoding="utf-8").splitlines()
    assert rows and rows[0].split("\t") == ["rfc", "status", "title", "plugin"], (
        "docs/rfc/index.tsv must start with the header 'rfc<TAB>status<TAB>title<TAB>plugin'"
    )
    listed: set[int] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not row.strip():
            continue
        columns = row.split("\t")
        assert len(columns) == 4, f"docs/rfc/index.tsv:{number}: expected 4 columns: {row!r}"
        match = re.fullmatch(r"(?:RFC ?)?(\d{3,5})", columns[0].strip())
        assert match, f"docs/rfc/index.tsv:{number}: bad RFC number {columns[0]!r}"
        assert int(match.group(1)) not in listed, f"docs/rfc/index.tsv:{number}: duplicate"
        listed.add(int(match.group(1)))
    return listed


def test_codebase_cited_rfcs_are_indexed() -> None:
    assert RFC_INDEX.exists(), (
        "docs/rfc/index.tsv is missing: create it with the header "
        "'rfc<TAB>status<TAB>title<TAB>plugin' and one row per RFC cited in the code"
    )
    listed = read_rfc_index()
    unlisted = []
    for path in source_files():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in RFC_CITATION.finditer(line):
                if int(match.group(1)) not in listed:
                    unlisted.append(f"{rel(path)}:{lineno}: RFC {match.group(1)}")
    assert not unlisted, f"RFCs cited but not in docs/rfc/index.tsv: {unlisted}"
