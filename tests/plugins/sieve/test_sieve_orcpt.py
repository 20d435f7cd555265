"""The original recipient (RFC 3461 §4.2 ``ORCPT``) reaches Sieve at delivery.

Mail goes in over SMTP (smtplib, ``RCPT TO:<..> ORCPT=...``) to a server offering DSN;
the script's ``envelope "orig_to"`` decides where the copy goes, read back over IMAP.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sieve_delivery_support import ANN, message, sieve_server

from kernel.pipeline import original_address

SCRIPT = """
require ["envelope", "fileinto", "mailbox", "editheader", "variables"];
if envelope :matches "orig_to" "*" { addheader "X-Orig" "${1}"; }
if envelope :is "orig_to" "info+sales@example.org" { fileinto :create "Sales"; }
if envelope :is "orig_to" "j\u00e9r\u00f4me@example.org" { fileinto :create "Utf8"; }
"""
DSN = {"dsn": True}


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("rfc822", "a+b@example.org", "a+b@example.org"),
        ("RFC822", "a@example.org", "a@example.org"),
        ("utf-8", "j\\x{E9}r\\x{F4}me@example.org", "j\u00e9r\u00f4me@example.org"),
        ("utf-8", "bad\\x{110000}@example.org", None),
        ("utf-8", "bad\\x{D800}@example.org", None),
        ("x400", "c=US;a=x;", None),
    ],
)
def test_sieve_orcpt_original_address(kind: str, value: str, expected: str | None) -> None:
    assert original_address(kind, value) == expected


async def test_sieve_orcpt_rfc822_xtext_reaches_the_script(tmp_path: Path) -> None:
    async with sieve_server(tmp_path, smtp=DSN) as server:
        await server.install(ANN, SCRIPT)
        # RFC 3461 §4: "+2B" is the xtext form of "+".
        refused = await server.send(
            message("orcpt"), [ANN], rcpt_options=["ORCPT=rfc822;info+2Bsales@example.org"]
        )
        assert refused == {}
        assert await server.folder(ANN) == []
        ((_, stored),) = await server.folder(ANN, "Sales")
        assert b"X-Orig: info+sales@example.org\r\n" in stored


async def test_sieve_orcpt_utf8_address_type(tmp_path: Path) -> None:
    async with sieve_server(tmp_path, smtp=DSN) as server:
        await server.install(ANN, SCRIPT)
        refused = await server.send(
            message("utf8"), [ANN], rcpt_options=["ORCPT=utf-8;j\\x{E9}r\\x{F4}me@example.org"]
        )
        assert refused == {}
        assert len(await server.folder(ANN, "Utf8")) == 1


async def test_sieve_orcpt_absent_is_the_recipient(tmp_path: Path) -> None:
    async with sieve_server(tmp_path, smtp=DSN) as server:
        await server.install(ANN, SCRIPT)
        assert await server.send(message("plain"), [ANN]) == {}
        ((_, stored),) = await server.folder(ANN)
        assert b"X-Orig: ann@example.org\r\n" in stored
