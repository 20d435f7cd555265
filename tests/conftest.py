"""Fixtures shared across the suite: the installed third-party plugin and kernel subprocesses."""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def upper_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory (not the project's venv) with the ``stalwart-upper`` distribution installed."""
    work = tmp_path_factory.mktemp("upper")
    source = work / "src"
    shutil.copytree(FIXTURES / "upper_plugin", source)
    site = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return site


class KernelProcess:
    """A ``stalwart-kernel`` child process whose log lines can be awaited."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kernel.cli", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Wait for a log line matching ``pattern`` (fails on exit or timeout)."""
        regex = re.compile(pattern)
        for line in self.lines:
            if match := regex.search(line):
                return match
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                lines = "\n".join(self.lines)
                raise AssertionError(f"no line matching {pattern!r}:\n{lines}") from None
            if line is None:
                raise AssertionError(f"exited before {pattern!r}:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if match := regex.search(line):
                return match

    def port(self, listener: str) -> int:
        match = self.wait_for(rf"event=listening listener={listener} .*address=[^ ]*:(\d+)")
        return int(match.group(1))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def kernel_process(upper_site: Path, tmp_path: Path) -> Iterator[type]:
    """Factory: ``kernel_process(config_yaml, *args)`` starts a child kernel serving it."""
    started: list[KernelProcess] = []
    env = {**os.environ, "PYTHONPATH": str(upper_site)}
    env.pop("STALWART_KERNEL_CONFIG", None)

    def start(config_yaml: str, *args: str) -> KernelProcess:
        conf = tmp_path / "conf"
        conf.mkdir(exist_ok=True)
        (conf / "50-test.yaml").write_text(config_yaml)
        process = KernelProcess(
            ["--config", str(conf), "--data", str(tmp_path / "var"), *args], env
        )
        started.append(process)
        return process

    yield start  # type: ignore[misc]
    for process in started:
        process.stop()
