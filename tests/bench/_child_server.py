"""Start our server as a child process for a protocol benchmark.

The child runs the installed plugins through the public :class:`kernel.Kernel` API
with only the given configuration (no packaged listeners), creates one account once
the store is open, and reports ``bench-ready``; the benchmark then drives it over
loopback from its own process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

__all__ = ["start_server"]

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import sys
from pathlib import Path
import trio
from kernel import Kernel
from kernel.lifecycle import freeze_startup_objects

async def main(conf, data, plugins, user, password):
    kernel = Kernel(data_dir=data, layers=[Path(conf)], plugins=plugins.split(","),
                    handle_signals=True)
    freeze_startup_objects()  # as `stalwart-kernel serve` does
    async with trio.open_nursery() as nursery:
        await nursery.start(kernel.run)
        directory = kernel.store.directory
        if await directory.principal(user) is None:
            await directory.add_domain(user.partition("@")[2])
            await directory.add_account(user, password)
        print("bench-ready", file=sys.stderr, flush=True)

trio.run(main, *sys.argv[1:])
"""


def start_server(
    workdir: Path, config: str, plugins: list[str], listener: str, user: str, password: str
) -> tuple[subprocess.Popen[str], int]:
    """Run the server in ``workdir`` with ``config`` (YAML); returns it and ``listener``'s port."""
    conf = workdir / "conf"
    conf.mkdir()
    (conf / "bench.yaml").write_text(config)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(conf),
            str(workdir / "var"),
            ",".join(plugins),
            user,
            password,
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        # `python -c` puts the working directory first on sys.path: run in the checkout
        # this file belongs to, so that a benchmark of another checkout (an older
        # commit in a worktree) measures that code and not the caller's.
        cwd=ROOT,
    )
    assert proc.stderr is not None
    port = 0
    pattern = re.compile(rf"event=listening listener={listener} .*address=[^ ]*:(\d+)")
    for line in proc.stderr:
        if match := pattern.search(line):
            port = int(match.group(1))
        if "bench-ready" in line:
            break
    else:
        raise RuntimeError("the server exited before it was ready")
    # Keep draining the server's log so that it never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    return proc, port
