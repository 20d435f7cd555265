"""Encrypted PushSubscription pushes (RFC 8620 §7.2 ``keys``; RFC 8291 with the RFC 8188
``aes128gcm`` content coding): the RFC 8291 Appendix A test vector, key validation,
and end to end over a local HTTPS receiver that decrypts with the client's private key."""

from __future__ import annotations

import base64
import functools
import json
import ssl
import struct
from pathlib import Path
from typing import Any

import pytest
import trio
import trustme
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jmap_support import CORE, PushReceiver, jmap_server

from plugins.jmap.push_crypto import b64url_decode, encrypt, parse_keys

TIMEOUT = 20

# RFC 8291 Appendix A: fixed keys, salt and the exact body they give.
PLAINTEXT = b"When I grow up, I want to be a watermelon"
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
UA_PUBLIC = (
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
)
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS"
    "6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qu"
    "lcy4a-fN"
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _private(b64: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64url_decode(b64), "big"), ec.SECP256R1())


def _point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def decrypt(body: bytes, ua_private: ec.EllipticCurvePrivateKey, auth: bytes) -> bytes:
    """The user agent's side (RFC 8291 §3.4, RFC 8188 §2), written apart from the server's."""
    salt = body[:16]
    rs, idlen = struct.unpack("!IB", body[16:21])
    keyid = body[21 : 21 + idlen]
    record = body[21 + idlen :]
    assert len(record) <= rs  # one record (RFC 8291 §4)
    as_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keyid)
    ecdh_secret = ua_private.exchange(ec.ECDH(), as_public)
    ikm = _hkdf(auth, ecdh_secret, b"WebPush: info\x00" + _point(ua_private) + keyid, 32)
    cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    padded = AESGCM(cek).decrypt(nonce, record, None).rstrip(b"\x00")
    assert padded.endswith(b"\x02")  # the last record's delimiter
    return padded[:-1]


def test_jmap_push_encryption_rfc8291_test_vector() -> None:
    keys = parse_keys({"p256dh": UA_PUBLIC, "auth": AUTH})
    body = encrypt(PLAINTEXT, keys, private_key=_private(AS_PRIVATE), salt=b64url_decode(SALT))
    assert _b64url(body) == BODY
    assert decrypt(body, _private(UA_PRIVATE), b64url_decode(AUTH)) == PLAINTEXT
    # Fresh ephemeral key and salt by default: another body, same plaintext.
    fresh = encrypt(PLAINTEXT, keys)
    assert fresh[:16] != body[:16] and fresh[21:86] != body[21:86]
    assert decrypt(fresh, _private(UA_PRIVATE), b64url_decode(AUTH)) == PLAINTEXT
    # A long message still goes in one record, with rs raised to hold it.
    long = b"x" * 5000
    assert decrypt(encrypt(long, keys), _private(UA_PRIVATE), b64url_decode(AUTH)) == long


@pytest.mark.parametrize(
    "keys",
    [
        {"p256dh": "x", "auth": AUTH},
        {"p256dh": _b64url(b"\x04" + b"\x00" * 64), "auth": AUTH},  # not on the curve
        {"p256dh": UA_PUBLIC, "auth": _b64url(b"short")},
        {"p256dh": UA_PUBLIC},
        {"p256dh": UA_PUBLIC, "auth": AUTH, "extra": "1"},
        "not an object",
    ],
)
def test_jmap_push_encryption_rejects_bad_keys(keys: Any) -> None:
    with pytest.raises(ValueError):
        parse_keys(keys)


async def test_jmap_push_encryption_end_to_end_over_https(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    # The server's pushes use the default trust store: point it at the test CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_key = ec.generate_private_key(ec.SECP256R1())
    auth = b"0123456789abcdef"
    keys = {"p256dh": _b64url(_point(client_key)), "auth": _b64url(auth)}
    receiver = PushReceiver()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(
                functools.partial(
                    trio.serve_ssl_over_tcp, receiver.handle, 0, server_context, host="127.0.0.1"
                )
            )
            port = listeners[0].transport_listener.socket.getsockname()[1]
            async with jmap_server(tmp_path) as server:
                _, result = await server.call(
                    "PushSubscription/set",
                    {
                        "create": {
                            "enc": {
                                "deviceClientId": "phone",
                                "url": f"https://127.0.0.1:{port}/push",
                                "keys": keys,
                                "types": ["Mailbox"],
                            },
                            "bad": {
                                "deviceClientId": "phone-2",
                                "url": f"https://127.0.0.1:{port}/push",
                                "keys": {"p256dh": keys["p256dh"], "auth": "AAAA"},
                            },
                        }
                    },
                    using=[CORE],
                )
                sub_id = result["created"]["enc"]["id"]
                assert "keys" not in result["created"]["enc"]  # the client gave them
                assert result["notCreated"]["bad"]["properties"] == ["keys"]
                # The PushVerification is encrypted too (§7.2: "all data sent").
                head, body = await receiver.next_post()
                assert b"content-encoding: aes128gcm" in head.lower()
                assert b"content-type: application/json" in head.lower()
                assert b"ttl:" in head.lower()
                assert b"verificationCode" not in body
                verification = json.loads(decrypt(body, client_key, auth))
                assert verification["@type"] == "PushVerification"
                assert verification["pushSubscriptionId"] == sub_id
                _, done = await server.call(
                    "PushSubscription/set",
                    {"update": {sub_id: {"verificationCode": verification["verificationCode"]}}},
                    using=[CORE],
                )
                assert sub_id in done["updated"]
                await server.kernel.store.mailboxes.create(server.account, "Encrypted")
                head, body = await receiver.next_post()
                change = json.loads(decrypt(body, client_key, auth))
                assert change["@type"] == "StateChange"
                assert set(change["changed"][server.account_id]) == {"Mailbox"}
                _, got = await server.call(
                    "Mailbox/get", {"accountId": server.account_id, "ids": []}
                )
                assert change["changed"][server.account_id]["Mailbox"] == got["state"]
                # keys are immutable and never returned.
                _, update = await server.call(
                    "PushSubscription/set",
                    {"update": {sub_id: {"keys": None}}},
                    using=[CORE],
                )
                assert update["notUpdated"][sub_id]["type"] == "invalidProperties"
            nursery.cancel_scope.cancel()
