"""SASL client side for protocol tests: PLAIN, LOGIN, SCRAM-SHA-256 and SCRAM-SHA-1 responses.

Protocol tests (IMAP ``AUTHENTICATE``, POP3/SMTP ``AUTH``, ManageSieve) use these to
play the client; the mechanisms' server side is :mod:`kernel.sasl`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import final

__all__ = ["ScramClient", "oauthbearer_response", "plain_response"]


def plain_response(username: str, password: str, authzid: str = "") -> bytes:
    """The PLAIN message (RFC 4616 §2): ``authzid NUL authcid NUL passwd``."""
    return f"{authzid}\0{username}\0{password}".encode()


def oauthbearer_response(token: str, user: str = "") -> bytes:
    """An OAUTHBEARER initial client response (RFC 7628 §3.1)."""
    gs2 = f"n,a={user}," if user else "n,,"
    return f"{gs2}\x01auth=Bearer {token}\x01\x01".encode()


@final
class ScramClient:
    """A SCRAM client (RFC 5802) without channel binding: SCRAM-SHA-256 (RFC 7677) by
    default, SCRAM-SHA-1 with ``hash_name="sha1"``.

    ``first()`` gives the client-first message, ``final(server_first)`` the
    client-final one, and ``verify(server_final)`` checks the server's signature.
    """

    def __init__(
        self, username: str, password: str, nonce: str | None = None, *, hash_name: str = "sha256"
    ) -> None:
        if hash_name not in ("sha1", "sha256"):
            raise ValueError(f"no SCRAM mechanism uses the hash {hash_name!r}")
        self._hash = hash_name
        self._password = password.encode()
        name = username.replace("=", "=3D").replace(",", "=2C")
        self._bare = f"n={name},r={nonce or secrets.token_urlsafe(18)}"
        self._server_signature = b""

    def first(self) -> bytes:
        return ("n,," + self._bare).encode()

    @property
    def mechanism(self) -> str:
        """The SASL mechanism name: ``SCRAM-SHA-256`` or ``SCRAM-SHA-1``."""
        return "SCRAM-SHA-256" if self._hash == "sha256" else "SCRAM-SHA-1"

    def _hmac(self, key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, self._hash).digest()

    def final(self, server_first: bytes) -> bytes:
        attrs = dict(item.split("=", 1) for item in server_first.decode().split(","))
        salted = hashlib.pbkdf2_hmac(
            self._hash, self._password, base64.b64decode(attrs["s"]), int(attrs["i"])
        )
        client_key = self._hmac(salted, b"Client Key")
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{self._bare},{server_first.decode()},{without_proof}".encode()
        signature = self._hmac(hashlib.new(self._hash, client_key).digest(), auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self._server_signature = self._hmac(self._hmac(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> bool:
        """Whether ``v=...`` is the signature only the real server can compute."""
        expected = b"v=" + base64.b64encode(self._server_signature)
        return hmac.compare_digest(server_final, expected)
