"""An independent SCRAM key computation (RFC 5802 §2.2, §3) that the tests check the
implementation against, for SHA-1 and SHA-256 alike."""

from __future__ import annotations

import hmac


def hmac_digest(key: bytes, data: bytes, hash_name: str) -> bytes:
    """HMAC(key, data) with ``hash_name`` (``sha1`` or ``sha256``)."""
    return hmac.new(key, data, hash_name).digest()


def hi(password: bytes, salt: bytes, iterations: int, hash_name: str) -> bytes:
    """RFC 5802 §2.2: Hi(str, salt, i) = U1 XOR U2 XOR ... XOR Ui."""
    u = hmac_digest(password, salt + (1).to_bytes(4, "big"), hash_name)
    result = bytearray(u)
    for _ in range(iterations - 1):
        u = hmac_digest(password, u, hash_name)
        result = bytearray(a ^ b for a, b in zip(result, u, strict=True))
    return bytes(result)
