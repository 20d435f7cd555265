"""Harnesses that the kernel's and plugins' tests reuse.

:func:`run_kernel` starts an isolated kernel (its own plugin manager, a
configuration directory written from a dict, a data directory) inside the
test's trio run and stops it gracefully afterwards. Listeners in tests bind
``127.0.0.1:0``; :func:`listener_address` gives the port that was chosen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
import yaml

from kernel.lifecycle import Kernel

__all__ = ["listener_address", "read_until_closed", "run_kernel", "write_config"]

#: Defaults that keep a test kernel quiet and fast: no packaged listeners, a
#: short poll interval (tests still wait for conditions, never for time).
TEST_DEFAULTS: dict[str, Any] = {
    "config": {"watch": False, "poll_interval": "50ms"},
    "server": {"shutdown_timeout": "5s"},
}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def write_config(directory: Path, config: Mapping[str, Any], name: str = "50-test.yaml") -> Path:
    """Write ``config`` (merged over :data:`TEST_DEFAULTS`) as one YAML fragment."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(_merge(TEST_DEFAULTS, config), sort_keys=False))
    tmp.replace(path)  # atomic, as an editor or config manager would
    return path


@asynccontextmanager
async def run_kernel(
    tmp_path: Path,
    *,
    plugins: Mapping[str, object] | None = None,
    config: Mapping[str, Any] | None = None,
    names: list[str] | None = None,
) -> AsyncIterator[Kernel]:
    """Run a kernel for the duration of the block.

    Args:
        tmp_path: a fresh directory; ``conf/`` and ``var/`` are created in it.
        plugins: throwaway plugin objects by name; all are loaded unless
            ``names`` selects some.
        config: the configuration (only this: the packaged defaults are not
            read, so no fixed ports are bound).
        names: plugin names to load (default: every name in ``plugins``).

    The kernel is stopped gracefully (as by SIGTERM) when the block exits.
    """
    conf = tmp_path / "conf"
    write_config(conf, config or {})
    kernel = Kernel(
        data_dir=tmp_path / "var",
        layers=[conf],
        plugins=names if names is not None else list(plugins or {}),
        extra_plugins=plugins,
        environ={},
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(kernel.run)
        try:
            yield kernel
        finally:
            kernel.request_stop()


def listener_address(kernel: Kernel, name: str) -> tuple[str, int]:
    """The first ``(host, port)`` listener ``name`` is bound to."""
    host, port = kernel.listeners[name].addresses[0][:2]
    return host, port


async def read_until_closed(stream: trio.abc.Stream, max_bytes: int = 1 << 20) -> bytes:
    """Everything received until the peer closes (an abortive close counts as closed)."""
    data = b""
    try:
        while len(data) < max_bytes and (chunk := await stream.receive_some(65536)):
            data += chunk
    except trio.BrokenResourceError:
        pass
    return data
