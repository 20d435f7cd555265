"""End to end with the real client ``sieve-connect`` (Debian package ``sieve-connect``).

It speaks STARTTLS and authenticates with SASL PLAIN (its Perl SASL library
has no SCRAM-SHA-256). One test trusts a trustme CA with ``--tlscafile``
(full certificate verification); the others use the kernel's generated
self-signed certificate with ``--notlsverify``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trio
import trustme
from managesieve_support import PASSWORD, SCRIPT, STARTTLS_CONFIG, USER, Server, managesieve_server

SIEVE_CONNECT = shutil.which("sieve-connect")

pytestmark = pytest.mark.skipif(
    SIEVE_CONNECT is None, reason="sieve-connect is not installed (apt-get install sieve-connect)"
)


async def sieve_connect(
    server: Server,
    *args: str,
    tls: tuple[str, ...] = ("--notlsverify",),
    password: str = PASSWORD,
) -> subprocess.CompletedProcess[bytes]:
    """Run sieve-connect against ``server`` with the password on stdin."""
    assert SIEVE_CONNECT is not None
    command = [
        SIEVE_CONNECT,
        "--nosrv",
        "--server",
        server.host,
        "--port",
        str(server.port),
        "--user",
        USER,
        "--passwordfd",
        "0",
        *tls,
        *args,
    ]
    with trio.fail_after(60):
        return await trio.run_process(
            command,
            stdin=password.encode() + b"\n",
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )


def _tls_config(ca: trustme.CA) -> dict[str, Any]:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    return {
        **STARTTLS_CONFIG,
        "tls": {
            "certificates": {
                "main": {
                    "cert": "".join(b.bytes().decode() for b in cert.cert_chain_pems),
                    "key": cert.private_key_pem.bytes().decode(),
                }
            }
        },
    }


async def test_sieve_connect_upload_list_activate_download_delete(tmp_path: Path) -> None:
    local = tmp_path / "vacation.sieve"
    local.write_text(SCRIPT.replace("\r\n", "\n"))
    downloaded = tmp_path / "downloaded.sieve"
    commands = tmp_path / "commands"
    commands.write_text(
        f"put {local} vacation\n"
        "list\n"
        "activate vacation\n"
        "list\n"
        f"get vacation {downloaded}\n"
        "deactivate\n"
        "delete vacation\n"
        "list\n"
    )
    async with managesieve_server(tmp_path / "k", STARTTLS_CONFIG) as server:
        result = await sieve_connect(server, "--exec", str(commands))
        assert result.returncode == 0, result.stderr.decode()
        out = result.stdout.decode().splitlines()
        assert out[:2] == ['"vacation"', '"vacation" ACTIVE'], out
        assert '"vacation"' not in out[2:]  # deleted: the last listing is empty
        assert downloaded.read_text().replace("\r\n", "\n") == local.read_text()
        assert await server.kernel.store.sieve.list(server.account) == []


async def test_sieve_connect_with_verified_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    local = tmp_path / "main.sieve"
    local.write_text("keep;\n")
    async with managesieve_server(tmp_path / "k", _tls_config(ca)) as server:
        tls = ("--tlscafile", str(ca_file))
        upload = await sieve_connect(
            server, "--upload", "--localsieve", str(local), "--remotesieve", "main", tls=tls
        )
        assert upload.returncode == 0, upload.stderr.decode()
        activate = await sieve_connect(server, "--activate", "--remotesieve", "main", tls=tls)
        assert activate.returncode == 0, activate.stderr.decode()
        listing = await sieve_connect(server, "--list", tls=tls)
        assert listing.stdout.decode().split() == ['"main"', "ACTIVE"]
        active = await server.kernel.store.sieve.active(server.account)
        assert active is not None and active[1] == b"keep;\n"


async def test_sieve_connect_shows_compile_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sieve"
    bad.write_text('require "fileinto";\nif true {\n  fileinto 42;\n}\n')
    async with managesieve_server(tmp_path / "k", STARTTLS_CONFIG) as server:
        check = await sieve_connect(server, "--checkscript", "--localsieve", str(bad))
        assert check.returncode != 0
        assert b"line 3, column 12" in check.stderr
        upload = await sieve_connect(
            server, "--upload", "--localsieve", str(bad), "--remotesieve", "bad"
        )
        assert upload.returncode != 0 and b"line 3, column 12" in upload.stderr
        assert await server.kernel.store.sieve.list(server.account) == []


async def test_sieve_connect_wrong_password(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path / "k", STARTTLS_CONFIG) as server:
        result = await sieve_connect(server, "--list", password="wrong")
        assert result.returncode != 0
        assert b"Authentication failed" in result.stderr, result.stderr.decode()
