"""End to end with ``sievelib`` (PyPI), a ManageSieve client library, over real sockets.

sievelib's :class:`sievelib.managesieve.Client` is blocking, so each call runs in a worker
thread (``trio.to_thread``) while the kernel serves in the test's trio loop. The server is
unmodified: STARTTLS with a certificate from a trustme CA, which sievelib verifies
(``ssl.create_default_context()`` with ``SSL_CERT_FILE`` pointing at the CA, host name
``localhost``), and a plain-text listener that allows passwords in the clear for the
tests of LOGIN and failures.

What sievelib 1.6.0 cannot do (so it is not tested here, and the report says so): SCRAM
of any kind (it knows PLAIN, LOGIN, OAUTHBEARER and XOAUTH2); our SCRAM-SHA-1 is tested
with the in-tree client in ``test_managesieve_scram_sha1.py``. Its quirks seen against
RFC 5804 are noted next to the assertions that show them.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio
import trustme
from managesieve_support import PASSWORD, SCRIPT, STARTTLS_CONFIG, USER, Server, managesieve_server
from sievelib.managesieve import SUPPORTED_AUTH_MECHS, Client

T = TypeVar("T")
INVALID = 'require ["fileinto"];\r\nif header :contains "subject" "x" {\r\n  fileinto;\r\n}\r\n'


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one blocking sievelib call in a worker thread."""
    with trio.fail_after(30):
        return await trio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


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


@asynccontextmanager
async def tls_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **config: Any
) -> AsyncIterator[Server]:
    """A STARTTLS server whose certificate sievelib's default context trusts."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    # ssl.create_default_context() (what sievelib calls) loads the default verify
    # paths, which OpenSSL reads from SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    async with managesieve_server(tmp_path, {**_tls_config(ca), **config}) as server:
        yield server


@asynccontextmanager
async def connected(
    server: Server, password: str = PASSWORD, **options: Any
) -> AsyncIterator[tuple[Client, bool]]:
    """A sievelib client after ``connect()`` (and its result); its socket closed after."""
    client = Client(server.host, server.port, srvhostname="localhost")
    try:
        ok = await call(client.connect, USER, password, **options)
        yield client, ok
    finally:
        if client.sock is not None:
            client.sock.close()
            client.sock = None


async def test_sievelib_starttls_plain_full_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with tls_server(tmp_path, monkeypatch) as server:
        async with connected(server, starttls=True, authmech="PLAIN") as (client, ok):
            await _full_session(client, ok)
        assert await server.kernel.store.sieve.list(server.account) == []


async def _full_session(client: Client, ok: bool) -> None:
    assert ok, client.errmsg
    # Capabilities as re-read after STARTTLS (RFC 5804 §2.2).
    assert client.get_implementation() == "stalwart-kernel"
    assert client.get_sasl_mechanisms()[:3] == ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]
    assert "fileinto" in client.get_sieve_capabilities()
    assert not client.has_tls_support()  # §1.7: no STARTTLS once TLS is on
    listing = await call(client.capability)
    assert listing is not None
    assert b'"VERSION" "1.0"' in listing and f'"OWNER" "{USER}"'.encode() in listing

    assert await call(client.listscripts) == (None, [])
    assert await call(client.havespace, "main", len(SCRIPT))
    assert not await call(client.havespace, "main", 10**9)
    assert client.errcode == b"QUOTA/MAXSIZE"

    # PUTSCRIPT (§2.6) valid, then invalid with the parser's error text.
    assert await call(client.putscript, "main", SCRIPT)
    assert not await call(client.putscript, "broken", INVALID)
    assert b"fileinto" in client.errmsg
    assert await call(client.listscripts) == (None, ["main"])

    # CHECKSCRIPT (§2.12) stores nothing.
    assert await call(client.checkscript, SCRIPT)
    assert not await call(client.checkscript, INVALID)
    assert b"fileinto" in client.errmsg

    # GETSCRIPT (§2.9): sievelib joins the lines with "\n" (its own choice; the
    # server sent the octets as stored, CRLF line ends included).
    assert await call(client.getscript, "main") == SCRIPT.replace("\r\n", "\n").rstrip("\n")
    assert await call(client.getscript, "nothing") is None
    assert client.errcode == b"NONEXISTENT"

    # SETACTIVE (§2.8), RENAMESCRIPT (§2.11.1), DELETESCRIPT (§2.10).
    assert await call(client.setactive, "main")
    assert await call(client.listscripts) == ("main", [])
    assert await call(client.putscript, "spare", SCRIPT)
    assert await call(client.renamescript, "spare", "other")
    assert await call(client.listscripts) == ("main", ["other"])
    assert not await call(client.renamescript, "other", "main")
    assert client.errcode == b"ALREADYEXISTS"
    assert not await call(client.deletescript, "main")
    assert client.errcode == b"ACTIVE"
    assert await call(client.setactive, "")  # deactivate
    assert await call(client.listscripts) == (None, ["main", "other"])
    assert await call(client.deletescript, "main")
    assert await call(client.deletescript, "other")
    assert await call(client.listscripts) == (None, [])
    await call(client.logout)


async def test_sievelib_default_mechanism_choice_logs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without authmech sievelib walks its own list (no SCRAM) against ours.
    assert "SCRAM-SHA-1" not in SUPPORTED_AUTH_MECHS
    async with tls_server(tmp_path, monkeypatch) as server:
        async with connected(server, starttls=True) as (client, ok):
            assert ok and client.authenticated
            assert await call(client.putscript, "main", SCRIPT)
            assert await call(client.setactive, "main")
            await call(client.logout)
        active = await server.kernel.store.sieve.active(server.account)
        assert active is not None and active[0].name == "main"


async def test_sievelib_oauthbearer_with_a_directory_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with tls_server(tmp_path, monkeypatch) as server:
        token = await server.kernel.store.directory.add_token(USER, "sievelib")
        async with connected(server, token, starttls=True, authmech="OAUTHBEARER") as (
            client,
            ok,
        ):
            assert ok, client.errmsg
            assert await call(client.listscripts) == (None, [])
            await call(client.logout)


async def test_sievelib_wrong_password_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        tls_server(tmp_path, monkeypatch) as server,
        connected(server, "wrong", starttls=True, authmech="PLAIN") as (client, ok),
    ):
        assert not ok and not client.authenticated
        assert client.errmsg == b"Authentication failed"


async def test_sievelib_plaintext_login_mechanism(tmp_path: Path) -> None:
    # The plain-text listener of managesieve_support allows passwords without TLS.
    # sievelib sends both LOGIN responses at once without waiting for the challenges;
    # the server reads them in turn.
    async with managesieve_server(tmp_path) as server:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            async with connected(server, authmech="LOGIN") as (client, ok):
                assert ok, client.errmsg
                assert await call(client.putscript, "main", SCRIPT)
                assert await call(client.listscripts) == (None, ["main"])
                await call(client.logout)
        assert any("unencrypted" in str(w.message) for w in caught)


async def test_sievelib_plain_refused_in_clear_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without STARTTLS the server does not offer PLAIN (RFC 5804 §2.1), so sievelib finds
    # no mechanism of its own to use.
    async with tls_server(tmp_path, monkeypatch) as server:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            async with connected(server, authmech="PLAIN") as (client, ok):
                assert not ok
                assert client.errmsg == b"No suitable mechanism found"
                assert client.get_sasl_mechanisms() == ["SCRAM-SHA-256", "SCRAM-SHA-1"]
