"""Helpers for the ManageSieve tests: a kernel serving ManageSieve with one account, clients."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

import plugins.managesieve.plugin
import plugins.sieve.plugin
from kernel import Kernel
from kernel.testing import listener_address, run_kernel
from plugins.managesieve.testing import SieveClient

USER = "ann@example.org"
PASSWORD = "correct horse"
#: A plain-text listener; passwords allowed without TLS; no failure delay.
BASE_CONFIG: dict[str, Any] = {
    "auth": {"allow_plaintext_without_tls": True},
    "listeners": {"managesieve": {"bind": "127.0.0.1:0", "protocol": "managesieve", "tls": "none"}},
    "managesieve": {"auth_failure_delay": 0},
}
#: A STARTTLS listener that refuses passwords in the clear.
STARTTLS_CONFIG: dict[str, Any] = {
    "auth": {"allow_plaintext_without_tls": False},
    "listeners": {"managesieve": {"tls": "starttls"}},
}
SCRIPT = 'require ["fileinto"];\r\nif header :contains "subject" "x" {\r\n  fileinto "X";\r\n}\r\n'


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``, nested mappings merged too."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Server:
    """A running kernel with the managesieve plugin and the account ``ann@example.org``."""

    kernel: Kernel
    host: str
    port: int
    account: int

    @asynccontextmanager
    async def client(self, *, login: bool = False) -> AsyncIterator[SieveClient]:
        """A connected client (greeting read; logged in with PLAIN if ``login``)."""
        stream = await trio.open_tcp_stream(self.host, self.port)
        try:
            client = SieveClient(stream)
            greeting = await client.response()
            assert greeting.status == "OK", greeting
            if login:
                reply = await client.authenticate_plain(USER, PASSWORD)
                assert reply.status == "OK", reply
            yield client
        finally:
            await trio.aclose_forcefully(stream)


@asynccontextmanager
async def managesieve_server(
    tmp_path: Path,
    config: Mapping[str, Any] | None = None,
    *,
    sieve: bool = False,
    extra: Mapping[str, object] | None = None,
) -> AsyncIterator[Server]:
    """Run a kernel serving ManageSieve (``BASE_CONFIG`` merged with ``config``); with
    ``sieve`` the Sieve plugin (its ``sieve`` section, delivery) is loaded too, and the
    ``extra`` plugins (by name) as well."""
    merged = merge(BASE_CONFIG, config or {})
    loaded: dict[str, object] = {"managesieve": plugins.managesieve.plugin, **(extra or {})}
    if sieve:
        loaded["sieve"] = plugins.sieve.plugin
    async with run_kernel(
        tmp_path,
        plugins=loaded,
        names=["directory", *loaded],
        config=merged,
    ) as kernel:
        directory = kernel.store.directory
        await directory.add_domain("example.org")
        account = (await directory.add_account(USER, PASSWORD)).id
        host, port = listener_address(kernel, "managesieve")
        yield Server(kernel, host, port, account)


def insecure_context() -> ssl.SSLContext:
    """A client TLS context that trusts the kernel's generated certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def capabilities(reply_lines: list[list[bytes | str]]) -> dict[str, str | None]:
    """Capability lines as ``{NAME: value}``."""
    out: dict[str, str | None] = {}
    for line in reply_lines:
        name = line[0]
        assert isinstance(name, bytes)
        value = line[1] if len(line) > 1 else None
        out[name.decode().upper()] = value.decode() if isinstance(value, bytes) else None
    return out
