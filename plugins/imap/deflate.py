"""COMPRESS=DEFLATE (RFC 4978): raw DEFLATE, without zlib header, both ways; sans-IO.

Implementation notes:

* Each batch of responses is compressed and ended with a sync flush, so the client
  can decompress everything sent so far (RFC 4978 §4: "flush ... after each
  response"); the compression level is zlib's default.
* Inflating is bounded: :meth:`Deflate.take` returns at most ``limit`` octets and
  keeps the rest of the input compressed, so a small "zip bomb" cannot expand into
  more memory than the receiver's own limits allow.
* Corrupt input raises ``ValueError``; the driver ends the connection (there is no
  way to resynchronise a broken stream).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import final

__all__ = ["Deflate"]

_RAW = -15  # raw DEFLATE, no zlib header (RFC 4978 §3)


@final
class Deflate:
    """The two directions of one compressed connection."""

    def __init__(self) -> None:
        self._out = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, _RAW)
        self._in = zlib.decompressobj(_RAW)
        self._pending = b""

    def compress(self, chunks: Iterable[bytes | memoryview]) -> bytes:
        """The compressed form of ``chunks``, sync-flushed."""
        parts = [self._out.compress(chunk) for chunk in chunks]
        parts.append(self._out.flush(zlib.Z_SYNC_FLUSH))
        return b"".join(parts)

    def feed(self, data: bytes) -> None:
        """Add compressed bytes read from the client."""
        self._pending += data

    @property
    def has_input(self) -> bool:
        """Whether compressed input is waiting to be inflated."""
        return bool(self._pending)

    def take(self, limit: int) -> bytes:
        """Inflate up to ``limit`` octets of what was fed; ``ValueError`` if corrupt."""
        try:
            out = self._in.decompress(self._pending, limit)
        except zlib.error as exc:
            raise ValueError(f"corrupt DEFLATE stream: {exc}") from exc
        self._pending = self._in.unconsumed_tail
        return out
