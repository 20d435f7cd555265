"""SCRAM-SHA-256 (RFC 5802, RFC 7677): key derivation and the server side of the exchange.

The store keeps a :class:`ScramKeys` record per account, made by
:func:`derive_scram_keys` when the password is set, so SCRAM works without the plaintext
password: the server needs only the salt, the iteration count, ``StoredKey`` and
``ServerKey``.

Implementation notes:

- No channel binding: ``SCRAM-SHA-256-PLUS`` is never offered, so ``p=`` is refused and
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

__all__ = ["DEFAULT_ITERATIONS", "ScramKeys", "ScramMechanism", "derive_scram_keys"]

# RFC 7677 §3: the iteration count SHOULD be at least 4096.
DEFAULT_ITERATIONS: Final = 4096
SALT_LENGTH: Final = 16
_KEY_LENGTH: Final = hashlib.sha256().digest_size

# RFC 5802 §7: printable = %x21-2B / %x2D-7E ;; Printable ASCII except ","
_PRINTABLE: Final = re.compile(r"[\x21-\x2b\x2d-\x7e]+")
# RFC 5802 §7: extensions = attr-val *("," attr-val); attr-val = ALPHA "=" value
_ATTR_VAL: Final = re.compile(r"[A-Za-z]=[^\x00,]+")


@final
@dataclass(frozen=True)
class ScramKeys:
    """What the store keeps for SCRAM-SHA-256 (RFC 5802 §3): never the password itself.

    Raises:
      ValueError: empty salt, iteration count below 1, or keys that are not SHA-256 sized.
    """

    salt: bytes
    iterations: int
    stored_key: bytes = field(repr=False)
    server_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.salt:
            raise ValueError("SCRAM salt must not be empty")
        if self.iterations < 1:
            raise ValueError("SCRAM iteration count must be positive")
        if len(self.stored_key) != _KEY_LENGTH or len(self.server_key) != _KEY_LENGTH:
            raise ValueError(f"SCRAM-SHA-256 keys are {_KEY_LENGTH} bytes")


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def derive_scram_keys(
    password: str, *, salt: bytes | None = None, iterations: int = DEFAULT_ITERATIONS
) -> ScramKeys:
    """Derive the SCRAM-SHA-256 keys to store for ``password``.

    Args:
      password: the clear-text password.
      salt: the salt; a fresh random one of :data:`SALT_LENGTH` bytes when ``None``.
      iterations: the PBKDF2 iteration count (RFC 7677 §3: SHOULD be at least 4096).

    Returns:
      The :class:`ScramKeys` to store.

    Raises:
      ValueError: the password fails SASLprep as a stored string (a prohibited character,
        or a code point unassigned in Unicode 3.2 such as an emoji), or a bad salt or
        iteration count. Such a password can still be used with PLAIN.
    """
    if salt is None:
        salt = secrets.token_bytes(SALT_LENGTH)
    if not salt or iterations < 1:
        raise ValueError("SCRAM needs a non-empty salt and a positive iteration count")
    # RFC 5802 §2.2: Normalize() treats the password as a stored string.
    normalized = saslprep(password, allow_unassigned=False)
    # RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i); Hi is PBKDF2
    # with HMAC as the PRF (RFC 5802 §2.2).
    salted = hashlib.pbkdf2_hmac("sha256", normalized.encode("utf-8"), salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    return ScramKeys(
        salt=salt,
        iterations=iterations,
        stored_key=hashlib.sha256(client_key).digest(),
        server_key=_hmac(salted, b"Server Key"),
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
    """SCRAM-SHA-256, server side."""

    def __init__(
        self,
        *,
        success_data: bool,
        mock_iterations: int,
        mock_secret: bytes | None,
        nonce: str | None,
    ) -> None:
        if nonce is not None and not _PRINTABLE.fullmatch(nonce):
            raise ValueError("a SCRAM nonce is printable ASCII without ','")
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
        return LookupScram(authcid, authzid)

    def scram_credentials(self, keys: object, account: str | None) -> SaslEvent:
        if keys is None:
            self._mock = True
            secret = self._mock_secret if self._mock_secret is not None else _process_secret()
            keys = ScramKeys(
                salt=_hmac(secret, b"scram-mock-salt\x00" + self._authcid.encode())[:SALT_LENGTH],
                iterations=self._mock_iterations,
                stored_key=secrets.token_bytes(_KEY_LENGTH),
                server_key=secrets.token_bytes(_KEY_LENGTH),
            )
        if not isinstance(keys, ScramKeys):
            raise TypeError("scram_credentials() takes a ScramKeys or None")
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
        if len(proof) != _KEY_LENGTH:
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
        client_signature = _hmac(keys.stored_key, auth_message_bytes)
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
        genuine = hmac.compare_digest(hashlib.sha256(client_key).digest(), keys.stored_key)
        if not genuine or self._mock:
            return Failure(INVALID_CREDENTIALS)
        # RFC 5802 §7: server-final-message = verifier; verifier = "v=" base64
        server_final = b"v=" + base64.b64encode(_hmac(keys.server_key, auth_message_bytes))
        if self._success_data:
            # RFC 5802 §5.2 (2b): SCRAM sends additional data with success.
            return Success(self._authcid, self._authzid, self._account, server_final)
        self._step = "ack"
        return Challenge(server_final)
