"""Meta-tests for the kernel.mail package: exports, sans-IO, final classes."""

from __future__ import annotations

import ast
from pathlib import Path

import kernel.mail

PACKAGE = Path(kernel.mail.__file__).resolve().parent


def test_package_exports_resolve_sorted_and_unique() -> None:
    exported = kernel.mail.__all__
    assert len(set(exported)) == len(exported)
    assert all(hasattr(kernel.mail, name) for name in exported)
    screaming = [name for name in exported if name.isupper()]
    assert exported[: len(screaming)] == sorted(screaming)


def test_package_classes_are_final() -> None:
    classes = [getattr(kernel.mail, name) for name in kernel.mail.__all__]
    classes = [obj for obj in classes if isinstance(obj, type)]
    assert classes
    assert all(getattr(cls, "__final__", False) for cls in classes)


def test_package_is_sans_io() -> None:
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            bad = [n for n in names if n.split(".")[0] in {"trio", "socket", "asyncio"}]
            offenders += [f"{path.name}:{node.lineno}: {n}" for n in bad]
    assert not offenders
