"""SCRAM (RFC 5802): key derivation and the server side of the exchange, for each hash.

Two mechanisms share this code and differ only in the hash function H() and HMAC():
SCRAM-SHA-1 (RFC 5802 itself; RFC 5804 §2.1 makes it mandatory for ManageSieve) and
SCRAM-SHA-256 (RFC 7677). :data:`SCRAM_HASHES` maps each mechanism name to its
:mod:`hashlib` name.

The store keeps a :class:`ScramKeys` record per account and hash, made by
:func:`derive_scram_keys` when the password is set, so SCRAM works without the plaintext
password: the server needs only the salt, the iteration count, ``StoredKey`` and
``ServerKey``.

Implementation notes:

- No channel binding: no ``-PLUS`` mechanism is ever offered, so ``p=`` is refused and
  ``y`` accepted (RFC 5802 §6). A mandatory extension (``m=``) fails the exchange;
  optional extensions are checked for syntax and ignored (RFC 5802 §5.1).
- Unknown users (the driver answers ``None``) get a salt made by HMAC-ing the user name
  with a secret, so that the same name always sees the same salt, and the default
  iteration count; the exchange runs to the end and fails with the same reason as a
  wrong password (RFC 5802 §9). The secret defaults to a random per-process value; pass
  ``mock_secret`` to keep the salts stable across restarts.
- On failure the server ends with a plain :class:`Failure` and no ``e=`` server-final
  message, which RFC 5802 §5.1 allows.
- ``success_data=True``: the server-final message ``v=...`` travels as
  ``Success.additional_data`` (ManageSieve's ``OK (SASL ...)``, RFC 5804 §2.1).
  ``False`` (the default): it is sent as a last :class:`Challenge` whose response must
  be empty, for protocols whose success reply cannot carry data (RFC 4954 §4 for SMTP,
  RFC 5034 §4 for POP3, IMAP).

Theory of operation: *first* (waiting for the client-first message, after an empty
challenge when there was no initial response) -> ``LookupScram`` -> *final* (after the
server-first challenge) -> ``Success``, or *ack* (after the server-final challenge) ->
``Success`` on an empty response.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, final

from ._events import Challenge, Failure, LookupScram, SaslEvent, Success
from ._mechanism import (
    INVALID_CREDENTIALS,
    MALFORMED,
    Mechanism,
    Rejected,
    decode_saslname,
    decode_utf8,
    parse_gs2_header,
    prepare_query,
)
from ._saslprep import saslprep

__all__ = [
    "DEFAULT_ITERATIONS",
    "SCRAM_HASHES",
    "ScramKeys",
    "ScramMechanism",
    "derive_scram_keys",
]

# RFC 5802 §5.1; RFC 7677 §3: the iteration count SHOULD be at least 4096.
DEFAULT_ITERATIONS: Final = 4096
SALT_LENGTH: Final = 16
#: Mechanism name -> hashlib name of its H() (RFC 5802 §4: SCRAM-SHA-1; RFC 7677 §3).
SCRAM_HASHES: Final[Mapping[str, str]] = types.MappingProxyType(
    {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-1": "sha1"}
)
_DIGEST_SIZES: Final = {name: hashlib.new(name).digest_size for name in SCRAM_HASHES.values()}

# RFC 5802 §7: printable = %x21-2B / %x2D-7E ;; Printable ASCII except ","
_PRINTABLE: Final = re.compile(r"[\x21-\x2b\x2d-\x7e]+")
# RFC 5802 §7: extensions = attr-val *("," attr-val); attr-val = ALPHA "=" value
_ATTR_VAL: Final = re.compile(r"[A-Za-z]=[^\x00,]+")


@final
@dataclass(frozen=True)
class ScramKeys:
    """What the store keeps for SCRAM (RFC 5802 §3) with one hash: never the password itself.

    ``hash_name`` is the :mod:`hashlib` name of H(): ``sha256`` (SCRAM-SHA-256) or
    ``sha1`` (SCRAM-SHA-1).

    Raises:
      ValueError: empty salt, iteration count below 1, an unknown hash, or keys that
        are not the hash's digest size.
    """

    salt: bytes
    iterations: int
    stored_key: bytes = field(repr=False)
    server_key: bytes = field(repr=False)
    hash_name: str = "sha256"

    def __post_init__(self) -> None:
        if not self.salt:
            raise ValueError("SCRAM salt must not be empty")
        if self.iterations < 1:
            raise ValueError("SCRAM iteration count must be positive")
        size = _DIGEST_SIZES.get(self.hash_name)
        if size is None:
            raise ValueError(f"no SCRAM mechanism uses the hash {self.hash_name!r}")
        if len(self.stored_key) != size or len(self.server_key) != size:
            raise ValueError(f"SCRAM keys with {self.hash_name} are {size} bytes")


def _hmac(hash_name: str, key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hash_name).digest()


def derive_scram_keys(
    password: str,
    *,
    salt: bytes | None = None,
    iterations: int = DEFAULT_ITERATIONS,
    hash_name: str = "sha256",
) -> ScramKeys:
    """Derive the SCRAM keys to store for ``password``, for the hash ``hash_name``.

    Args:
      password: the clear-text password.
      salt: the salt; a fresh random one of :data:`SALT_LENGTH` bytes when ``None``.
      iterations: the PBKDF2 iteration count (RFC 7677 §3: SHOULD be at least 4096).
      hash_name: ``sha256`` (SCRAM-SHA-256) or ``sha1`` (SCRAM-SHA-1).

    Returns:
      The :class:`ScramKeys` to store.

    Raises:
      ValueError: the password fails SASLprep as a stored string (a prohibited character,
        or a code point unassigned in Unicode 3.2 such as an emoji), or a bad salt,
        iteration count or hash. Such a password can still be used with PLAIN.
    """
    if hash_name not in _DIGEST_SIZES:
        raise ValueError(f"no SCRAM mechanism uses the hash {hash_name!r}")
    if salt is None:
        salt = secrets.token_bytes(SALT_LENGTH)
    if not salt or iterations < 1:
        raise ValueError("SCRAM needs a non-empty salt and a positive iteration count")
    # RFC 5802 §2.2: Normalize() treats the password as a stored string.
    normalized = saslprep(password, allow_unassigned=False)
    # RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i); Hi is PBKDF2
    # with HMAC as the PRF (RFC 5802 §2.2).
    salted = hashlib.pbkdf2_hmac(hash_name, normalized.encode("utf-8"), salt, iterations)
    client_key = _hmac(hash_name, salted, b"Client Key")
    return ScramKeys(
        salt=salt,
        iterations=iterations,
        stored_key=hashlib.new(hash_name, client_key).digest(),
        server_key=_hmac(hash_name, salted, b"Server Key"),
        hash_name=hash_name,
    )


@functools.cache
def _process_secret() -> bytes:
    return secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes:
    # RFC 5802 §7: base64-char = ALPHA / DIGIT / "/" / "+"; b64decode raises a plain
    # ValueError (not binascii.Error) for non-ASCII text, so check that first.
    if not text.isascii():
        raise Rejected(MALFORMED)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise Rejected(MALFORMED) from None


def _check_extensions(attributes: list[str]) -> None:
    # RFC 5802 §5.1: unknown optional extensions MUST be ignored (once well-formed).
    if not all(_ATTR_VAL.fullmatch(item) for item in attributes):
        raise Rejected(MALFORMED)


class ScramMechanism(Mechanism):
    """SCRAM with the hash ``hash_name`` (a value of :data:`SCRAM_HASHES`), server side."""

    def __init__(
        self,
        *,
        hash_name: str,
        success_data: bool,
        mock_iterations: int,
        mock_secret: bytes | None,
        nonce: str | None,
    ) -> None:
        if nonce is not None and not _PRINTABLE.fullmatch(nonce):
            raise ValueError("a SCRAM nonce is printable ASCII without ','")
        if hash_name not in _DIGEST_SIZES:
            raise ValueError(f"no SCRAM mechanism uses the hash {hash_name!r}")
        self._hash = hash_name
        self._success_data = success_data
        self._mock_iterations = mock_iterations
        self._mock_secret = mock_secret
        self._server_nonce = nonce
        self._step = "first"
        self._gs2_header = ""
        self._client_first_bare = ""
        self._client_nonce = ""
        self._authcid = ""
        self._authzid: str | None = None
        self._server_first = ""
        self._keys: ScramKeys | None = None
        self._mock = False
        self._account: str | None = None

    def start(self, initial_response: bytes | None) -> SaslEvent:
        if initial_response is None:
            # RFC 5802 §5.2 (2a): client-first; RFC 4422 §5: send an empty challenge.
            return Challenge(b"")
        return self.respond(initial_response)

    def respond(self, data: bytes) -> SaslEvent:
        if self._step == "first":
            return self._client_first(decode_utf8(data))
        if self._step == "final":
            return self._client_final(decode_utf8(data))
        # RFC 4422 §5 (2b): additional data sent as a challenge is answered with an empty
        # response.
        if data:
            raise Rejected(MALFORMED)
        return Success(self._authcid, self._authzid, self._account)

    def _client_first(self, text: str) -> SaslEvent:
        # RFC 5802 §7: client-first-message = gs2-header client-first-message-bare
        #   client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
        header, authzid, bare = parse_gs2_header(text)
        attributes = bare.split(",")
        if attributes[0].startswith("m="):
            # RFC 5802 §5.1: an unsupported mandatory extension MUST fail the exchange.
            raise Rejected("mandatory extension not supported")
        if len(attributes) < 2 or not attributes[0].startswith("n="):
            raise Rejected(MALFORMED)
        nonce = attributes[1].removeprefix("r=")
        if not attributes[1].startswith("r=") or not _PRINTABLE.fullmatch(nonce):
            raise Rejected(MALFORMED)
        _check_extensions(attributes[2:])
        # RFC 5802 §5.1: the server prepares the username as a query string and SHOULD
        # abort if that fails or yields an empty string.
        authcid = prepare_query(decode_saslname(attributes[0][2:]), "invalid username encoding")
        self._gs2_header, self._authzid, self._client_first_bare = header, authzid, bare
        self._client_nonce, self._authcid = nonce, authcid
        return LookupScram(authcid, authzid, self._hash)

    def scram_credentials(self, keys: object, account: str | None) -> SaslEvent:
        if keys is None:
            self._mock = True
            secret = self._mock_secret if self._mock_secret is not None else _process_secret()
            # The same mock salt whatever the hash: an unknown user looks the same
            # to SCRAM-SHA-1 and SCRAM-SHA-256 probes.
            mock_salt = _hmac("sha256", secret, b"scram-mock-salt\x00" + self._authcid.encode())
            size = _DIGEST_SIZES[self._hash]
            keys = ScramKeys(
                salt=mock_salt[:SALT_LENGTH],
                iterations=self._mock_iterations,
                stored_key=secrets.token_bytes(size),
                server_key=secrets.token_bytes(size),
                hash_name=self._hash,
            )
        if not isinstance(keys, ScramKeys):
            raise TypeError("scram_credentials() takes a ScramKeys or None")
        if keys.hash_name != self._hash:
            raise ValueError(f"{keys.hash_name} keys given to a SCRAM exchange over {self._hash}")
        self._keys, self._account = keys, account
        if self._server_nonce is None:
            self._server_nonce = secrets.token_urlsafe(24)
        # RFC 5802 §7: server-first-message = nonce "," salt "," iteration-count
        self._server_first = (
            f"r={self._client_nonce}{self._server_nonce},s={_b64(keys.salt)},i={keys.iterations}"
        )
        self._step = "final"
        return Challenge(self._server_first.encode("ascii"))

    def _client_final(self, text: str) -> SaslEvent:
        # RFC 5802 §7: client-final-message = client-final-message-without-proof "," proof
        #   client-final-message-without-proof = channel-binding "," nonce ["," extensions]
        without_proof, comma, proof_b64 = text.rpartition(",p=")
        attributes = without_proof.split(",")
        if not comma or len(attributes) < 2 or "," in proof_b64:
            raise Rejected(MALFORMED)
        channel_binding, nonce = attributes[0], attributes[1]
        if not channel_binding.startswith("c=") or not nonce.startswith("r="):
            raise Rejected(MALFORMED)
        _check_extensions(attributes[2:])
        proof = _b64decode(proof_b64)
        if len(proof) != _DIGEST_SIZES[self._hash]:
            raise Rejected(MALFORMED)
        # RFC 5802 §6: the server MUST validate c=; without channel binding it is the
        # base64 of the GS2 header alone.
        if _b64decode(channel_binding[2:]) != self._gs2_header.encode("utf-8"):
            raise Rejected("channel binding mismatch")
        # RFC 5802 §5.1: the nonce MUST be the one sent in the server-first message.
        expected_nonce = (self._client_nonce + (self._server_nonce or "")).encode("ascii")
        if not hmac.compare_digest(nonce[2:].encode("utf-8"), expected_nonce):
            raise Rejected("nonce mismatch")
        keys = self._keys
        assert keys is not None  # set by scram_credentials before the step became "final"
        # RFC 5802 §3: AuthMessage, ClientSignature, ClientKey = ClientProof XOR
        # ClientSignature, and the client is genuine when H(ClientKey) == StoredKey.
        auth_message = ",".join((self._client_first_bare, self._server_first, without_proof))
        auth_message_bytes = auth_message.encode("utf-8")
        client_signature = _hmac(self._hash, keys.stored_key, auth_message_bytes)
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
        digest = hashlib.new(self._hash, client_key).digest()
        genuine = hmac.compare_digest(digest, keys.stored_key)
        if not genuine or self._mock:
            return Failure(INVALID_CREDENTIALS)
        # RFC 5802 §7: server-final-message = verifier; verifier = "v=" base64
        signature = _hmac(self._hash, keys.server_key, auth_message_bytes)
        server_final = b"v=" + base64.b64encode(signature)
        if self._success_data:
            # RFC 5802 §5.2 (2b): SCRAM sends additional data with success.
            return Success(self._authcid, self._authzid, self._account, server_final)
        self._step = "ack"
        return Challenge(server_final)
