"""Encrypted push (RFC 8620 §7.2 ``keys``): RFC 8291 message encryption for Web
Push, carried in the ``aes128gcm`` content coding of RFC 8188.

A PushSubscription created with ``keys`` (the client's P-256 public key
``p256dh`` and its 16-octet authentication secret ``auth``, both base64url)
gets every POST body encrypted (§7.2: "the server MUST use them ... to encrypt
all data sent to the push subscription").

Theory of operation, per message (RFC 8291 §3):

1. A fresh ephemeral P-256 key pair (the application server's ``as_public``)
   and a fresh 16-octet ``salt``.
2. ``ecdh_secret = ECDH(as_private, ua_public)`` (§3.1).
3. ``IKM = HKDF(salt=auth_secret, IKM=ecdh_secret, info="WebPush: info" 0x00
   ua_public as_public, L=32)`` (§3.3, §3.4).
4. RFC 8188 §2.2-2.3: ``CEK = HKDF(salt, IKM, "Content-Encoding: aes128gcm"
   0x00, 16)``, ``NONCE = HKDF(salt, IKM, "Content-Encoding: nonce" 0x00, 12)``.
5. One record (RFC 8291 §4: "MUST encrypt a push message with a single
   record"): AES-128-GCM over the plaintext, the last-record delimiter 0x02 and
   no padding; the nonce is NONCE XOR the record sequence number 0.
6. The body is the RFC 8188 §2.1 header (salt, ``rs`` as uint32, ``idlen``,
   ``keyid`` = ``as_public`` in uncompressed form, RFC 8291 §4) then the record.

Implementation notes:

* ``rs`` is 4096 (what RFC 8291 §4 assumes a push service takes), raised for a
  larger message so that the single record fits: RFC 8291 §4 asks for an
  ``rs`` greater than plaintext + delimiter + padding + tag.
* :func:`encrypt` takes the ephemeral key and salt as arguments so the RFC 8291
  Appendix A test vector can be reproduced; callers leave them out.
"""

from __future__ import annotations

import base64
import os
import struct
from dataclasses import dataclass
from typing import Any, Final, final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["CONTENT_ENCODING", "PushKeys", "b64url_decode", "encrypt", "parse_keys"]

#: The HTTP Content-Encoding of an encrypted push body (RFC 8188 §2).
CONTENT_ENCODING: Final = "aes128gcm"
#: The record size RFC 8291 §4 plans for.
RECORD_SIZE: Final = 4096
_KEY_INFO: Final = b"WebPush: info\x00"
_CEK_INFO: Final = b"Content-Encoding: aes128gcm\x00"
_NONCE_INFO: Final = b"Content-Encoding: nonce\x00"
_TAG: Final = 16
_LAST_RECORD: Final = b"\x02"


@final
@dataclass(frozen=True, slots=True)
class PushKeys:
    """A subscription's client keys: the uncompressed P-256 point and the auth secret."""

    p256dh: bytes
    auth: bytes


def b64url_decode(value: str) -> bytes:
    """Decode URL-safe base64 (RFC 4648 §5) with or without padding; ValueError if not."""
    if not isinstance(value, str) or not value.isascii():
        raise ValueError("not base64url text")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError as exc:
        raise ValueError("not base64url text") from exc


def _public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def parse_keys(value: Any) -> PushKeys:
    """The ``keys`` object of a PushSubscription (RFC 8620 §7.2); ValueError if invalid.

    ``p256dh`` must be a P-256 point in uncompressed form (RFC 8291 §3.1, 65
    octets) and ``auth`` 16 octets (RFC 8291 §3.2).
    """
    if not isinstance(value, dict) or set(value) != {"p256dh", "auth"}:
        raise ValueError("keys must be an object with exactly p256dh and auth")
    point = b64url_decode(value["p256dh"])
    auth = b64url_decode(value["auth"])
    if len(point) != 65 or point[0] != 4:
        raise ValueError("p256dh must be an uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise ValueError("p256dh is not a point on P-256") from exc
    if len(auth) != 16:
        raise ValueError("auth must be 16 octets")
    return PushKeys(point, auth)


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def encrypt(
    plaintext: bytes,
    keys: PushKeys,
    *,
    private_key: ec.EllipticCurvePrivateKey | None = None,
    salt: bytes | None = None,
) -> bytes:
    """The ``aes128gcm`` body carrying ``plaintext`` for the holder of ``keys``.

    ``private_key`` (the ephemeral application-server key) and ``salt`` are
    fresh unless given (only tests give them: reusing either breaks the scheme).
    """
    if private_key is None:
        private_key = ec.generate_private_key(ec.SECP256R1())
    if salt is None:
        salt = os.urandom(16)
    if len(salt) != 16:
        raise ValueError("the salt must be 16 octets")
    ua_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keys.p256dh)
    as_public = _public_bytes(private_key.public_key())
    # RFC 8291 §3.1: ecdh_secret = ECDH(as_private, ua_public).
    ecdh_secret = private_key.exchange(ec.ECDH(), ua_public)
    # RFC 8291 §3.3-3.4: key_info = "WebPush: info" || 0x00 || ua_public || as_public.
    ikm = _hkdf(keys.auth, ecdh_secret, _KEY_INFO + keys.p256dh + as_public, 32)
    # RFC 8188 §2.2-2.3: the content-encryption key and the nonce.
    cek = _hkdf(salt, ikm, _CEK_INFO, 16)
    nonce = _hkdf(salt, ikm, _NONCE_INFO, 12)  # XOR sequence number 0: unchanged
    record = AESGCM(cek).encrypt(nonce, plaintext + _LAST_RECORD, None)
    # RFC 8291 §4: rs greater than plaintext + delimiter + padding + tag.
    rs = max(RECORD_SIZE, len(plaintext) + len(_LAST_RECORD) + _TAG + 1)
    # RFC 8188 §2.1: salt (16) | rs (uint32) | idlen (uint8) | keyid; RFC 8291 §4:
    # keyid is the application server's public key.
    header = salt + struct.pack("!IB", rs, len(as_public)) + as_public
    return header + record
