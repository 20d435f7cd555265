"""OAUTHBEARER (RFC 7628): an OAuth 2.0 bearer token (RFC 6750) in one client message.

Implementation notes:

- The engine does not validate tokens: it parses the message and asks the driver with
  :class:`VerifyToken`, which also carries ``host`` and ``port`` for the driver to check
  against the listener (RFC 7628 §3.2 requires that).
- A well-formed message without a usable ``auth=Bearer <token>`` pair skips the
  question and goes straight to the error challenge, as in RFC 7628 §4.3, where an
  empty ``auth=`` is how a client discovers the scope.
- Error challenges carry ``status`` and, when configured, ``scope`` and
  ``openid-configuration`` (RFC 7628 §3.2.2). Whatever the client answers to an error
  challenge (it should be a lone ``%x01``, RFC 7628 §3.2.3) ends in :class:`Failure`.
- A syntactically broken message, including a lone ``%x01`` as the first message, fails
  at once without an error challenge (RFC 7628 §3.1 allows this).
- Strictness: RFC 7628 §4.4's example header ``n,user=...,`` is not valid GS2
  (RFC 5801 §4 has only ``a=``), and is refused.
"""

from __future__ import annotations

import json
import re
from typing import Final

from ._events import Challenge, Failure, SaslEvent, Success, VerifyToken
from ._mechanism import MALFORMED, Mechanism, Rejected, decode_utf8, parse_gs2_header

__all__ = ["OAuthBearerMechanism"]

INVALID_TOKEN: Final = "invalid token"

# RFC 7628 §3.1: key = 1*(ALPHA); value = *(VCHAR / SP / HTAB / CR / LF)
_KVPAIR: Final = re.compile(r"([A-Za-z]+)=([\x21-\x7e \t\r\n]*)")
# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token
#   b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
# RFC 7628 §4: the scheme name is case-insensitive.
_BEARER: Final = re.compile(r"(?i:bearer) +([A-Za-z0-9\-._~+/]+=*)")
# RFC 7628 §3.1: port is a decimal positive integer string without leading zeros.
_PORT: Final = re.compile(r"[1-9][0-9]{0,4}")


class OAuthBearerMechanism(Mechanism):
    """OAUTHBEARER, server side."""

    def __init__(self, *, scope: str | None, openid_configuration: str | None) -> None:
        self._scope = scope
        self._openid_configuration = openid_configuration
        self._authzid: str | None = None
        self._error_sent = False

    def start(self, initial_response: bytes | None) -> SaslEvent:
        if initial_response is None:
            # RFC 4422 §5 (2a): a client-first mechanism without an initial response
            # gets an empty challenge.
            return Challenge(b"")
        return self.respond(initial_response)

    def respond(self, data: bytes) -> SaslEvent:
        if self._error_sent:
            # RFC 7628 §3.2.3: the dummy response after an error challenge; the exchange
            # fails whatever it holds.
            return Failure(INVALID_TOKEN)
        # RFC 7628 §3.1: client-resp = (gs2-header kvsep *kvpair kvsep) / kvsep
        #   kvpair = key "=" value kvsep
        header, kvsep, rest = decode_utf8(data).partition("\x01")
        items = rest.split("\x01")
        if not kvsep or len(items) < 2 or items[-2:] != ["", ""]:
            raise Rejected(MALFORMED)
        _, self._authzid, after_header = parse_gs2_header(header)
        if after_header:
            raise Rejected(MALFORMED)
        pairs: dict[str, str] = {}
        for item in items[:-2]:
            match = _KVPAIR.fullmatch(item)
            if match is None or match.group(1) in pairs:
                raise Rejected(MALFORMED)
            pairs[match.group(1)] = match.group(2)
        port = pairs.get("port")
        if port is not None and not (_PORT.fullmatch(port) and int(port) <= 65535):
            raise Rejected(MALFORMED)
        # RFC 7628 §3.1: auth is REQUIRED; unknown keys MUST be ignored.
        bearer = _BEARER.fullmatch(pairs.get("auth", ""))
        if bearer is None:
            return self._error_challenge("invalid_token")
        return VerifyToken(
            self._authzid,
            bearer.group(1),
            pairs.get("host"),
            int(port) if port is not None else None,
        )

    def token_result(self, ok: bool, account: str | None, status: str) -> SaslEvent:
        if not ok:
            return self._error_challenge(status)
        if not account:
            raise ValueError("token_result(ok=True) needs the account the token belongs to")
        # RFC 7628 §3.2: the authenticated identity is the one established by the token.
        return Success(account, self._authzid, account)

    def _error_challenge(self, status: str) -> Challenge:
        # RFC 7628 §3.2.2: the error result is JSON with "status" and optionally "scope"
        # and "openid-configuration"; RFC 7628 §3.2.3: it goes in a normal challenge.
        error = {"status": status}
        if self._scope is not None:
            error["scope"] = self._scope
        if self._openid_configuration is not None:
            error["openid-configuration"] = self._openid_configuration
        self._error_sent = True
        return Challenge(json.dumps(error, separators=(",", ":")).encode("utf-8"))
