"""The kernel as a real process: a third-party plugin by name, signals, exit codes.

These run ``python -m kernel.cli`` with the ``stalwart-upper`` distribution
installed into a temporary directory on PYTHONPATH (not into the project's
venv), so they prove a third party needs nothing but the public contract.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

BASE = """
config: {watch: false}
listeners:
  http: null
  up:
    bind: 127.0.0.1:0
    protocol: upper
"""


def _connect(port: int) -> tuple[socket.socket, object]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock, sock.makefile("rb")


def test_thirdparty_plugin_served_by_name(kernel_process) -> None:
    proc = kernel_process(BASE + "upper: {greeting: hello from a plugin}\n", "--plugins", "upper")
    port = proc.port("up")
    sock, reader = _connect(port)
    assert reader.readline() == b"+OK hello from a plugin\r\n"
    sock.sendall(b"mail server\r\nQUIT\r\n")
    assert reader.readline() == b"+OK MAIL SERVER\r\n"
    assert reader.readline() == b"+OK bye\r\n"
    sock.close()
    proc.wait_for(r"plugins=upper")


def test_thirdparty_plugin_from_config_list(kernel_process) -> None:
    proc = kernel_process(BASE + "plugins: [upper]\n")
    sock, reader = _connect(proc.port("up"))
    assert reader.readline() == b"+OK upper ready\r\n"
    sock.close()


def test_sigterm_drains_sessions_and_exits_zero(kernel_process) -> None:
    proc = kernel_process(BASE + "server: {shutdown_timeout: 20s}\n", "--plugins", "upper")
    port = proc.port("up")
    sock, reader = _connect(port)
    assert reader.readline().startswith(b"+OK")
    proc.proc.send_signal(signal.SIGTERM)
    proc.wait_for(r"event=draining sessions=1")
    # Listeners stopped accepting...
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    # ...while the live session still works, and knows the server is closing.
    sock.sendall(b"closing\r\n")
    assert reader.readline() == b"+OK True\r\n"
    assert proc.proc.poll() is None
    sock.sendall(b"QUIT\r\n")
    assert reader.readline() == b"+OK bye\r\n"
    sock.close()
    assert proc.proc.wait(timeout=15) == 0
    proc.wait_for(r"event=stopped")


def test_sigterm_cancels_sessions_at_the_deadline(kernel_process) -> None:
    proc = kernel_process(BASE + "server: {shutdown_timeout: 200ms}\n", "--plugins", "upper")
    _sock, reader = _connect(proc.port("up"))
    assert reader.readline().startswith(b"+OK")
    proc.proc.send_signal(signal.SIGTERM)
    assert reader.readline() == b""  # the idle session was cancelled and closed
    assert proc.proc.wait(timeout=15) == 0


def test_sighup_reloads_configuration(kernel_process, tmp_path: Path) -> None:
    proc = kernel_process(BASE, "--plugins", "upper")
    proc.port("up")
    (tmp_path / "conf" / "60-more.yaml").write_text(
        "listeners:\n  up2: {bind: 127.0.0.1:0, protocol: upper}\nupper: {greeting: reloaded}\n"
    )
    proc.proc.send_signal(signal.SIGHUP)
    port2 = proc.port("up2")
    sock, reader = _connect(port2)
    assert reader.readline() == b"+OK reloaded\r\n"
    sock.close()


def test_unknown_plugin_fails_start_listing_installed(kernel_process) -> None:
    proc = kernel_process(BASE, "--plugins", "nosuch")
    assert proc.proc.wait(timeout=30) == 2
    proc.wait_for(r"plugin 'nosuch': is not installed \(installed plugins: .*broken, .*upper[,)]")


def test_plugin_that_raises_on_load_is_named(kernel_process) -> None:
    proc = kernel_process(BASE, "--plugins", "upper,broken")
    assert proc.proc.wait(timeout=30) == 2
    proc.wait_for(r"plugin 'broken': failed to load: RuntimeError: this plugin is broken")


def test_plugins_command_lists_versions_and_hooks(upper_site: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kernel.cli", "plugins"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(upper_site), "PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout
    assert "upper  1.2.3  (stalwart-upper)" in out
    assert "    stalwart_register_protocols" in out
    assert "broken  1.2.3  (stalwart-upper)\n    error: plugin 'broken': failed to load" in out


def test_hook_stalwart_register_commands(upper_site: Path, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "x.yaml").write_text("upper: {greeting: from config}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kernel.cli",
            "upper-say",
            "hello",
            "--config",
            str(conf),
            "--data",
            str(tmp_path / "var"),
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(upper_site), "PATH": "/usr/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "HELLO from config\n"
