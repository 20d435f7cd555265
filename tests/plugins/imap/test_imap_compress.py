"""COMPRESS=DEFLATE (RFC 4978) over a real socket, and the inflater's bounds."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from plugins.imap.deflate import Deflate
from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server, message


class _Compressed:
    """Wraps a transcript's stream: compress what is sent, inflate what is read."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream
        self.out = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)

    async def send_all(self, data: bytes) -> None:
        await self.stream.send_all(self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH))

    async def receive_some(self, max_bytes: int = 65536) -> bytes:
        while True:
            data = await self.stream.receive_some(max_bytes)
            if not data:
                return b""
            inflated = self.inflate.decompress(data)
            if inflated:
                return inflated

    async def aclose(self) -> None:
        await self.stream.aclose()


async def test_compress_deflate_session(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        assert b"COMPRESS=DEFLATE" in t.greeting
        await t.transact(f"LOGIN {USER} {PASSWORD}")
        await t.transact("COMPRESS GZIP", expect="bad")
        await t.transact("COMPRESS DEFLATE")
        t.stream = _Compressed(t.stream)  # type: ignore[assignment]
        data = message("squeezed", body="z" * 5000)
        await t.transact(b"APPEND INBOX {%d}\r\n" % len(data) + data)
        await t.transact("SELECT INBOX")
        res = await t.transact("FETCH 1 (BODY.PEEK[])")
        assert data in res.untagged[0]
        await t.transact("COMPRESS DEFLATE", expect="bad")  # already active
        await t.transact("LOGOUT")


def test_compress_inflate_is_bounded() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = bomb.compress(b"a" * 10_000_000) + bomb.flush(zlib.Z_SYNC_FLUSH)
    deflate = Deflate()
    deflate.feed(data)
    assert len(deflate.take(65536)) == 65536
    assert deflate.has_input
    broken = Deflate()
    broken.feed(b"\xff\xff\xff\xff garbage")
    with pytest.raises(ValueError):
        broken.take(100)
