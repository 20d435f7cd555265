"""The clear-text password mechanisms: PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login).

Both end with a :class:`VerifyPassword` question carrying SASLprep-ed strings; the
driver checks the password against the directory and answers ``password_result``.

Implementation notes:

- PLAIN accepts each field up to the engine's ``max_response`` (RFC 4616 §2 only
  requires 255 octets).
- PLAIN refuses anything but exactly two NULs, an empty authcid or password, or invalid
  UTF-8, without asking the driver anything.
- LOGIN has no authzid. An empty initial response is treated like none at all (the
  server then prompts for the user name), which is what clients sending
  ``AUTH LOGIN =`` expect.
"""

from __future__ import annotations

from typing import Final

from ._events import Challenge, Failure, SaslEvent, Success, VerifyPassword
from ._mechanism import (
    INVALID_CREDENTIALS,
    MALFORMED,
    Mechanism,
    Rejected,
    decode_utf8,
    prepare_query,
)

__all__ = ["LoginMechanism", "PlainMechanism"]

# deviation(draft-murchison-sasl-login §2): the draft says the challenges SHOULD be
# "User Name" and "Password"; clients ignore them, and "Username:" / "Password:" is what
# most deployed servers (and [MS-XLOGIN]) send.
USERNAME_PROMPT: Final = b"Username:"
PASSWORD_PROMPT: Final = b"Password:"


class _PasswordMechanism(Mechanism):
    """Shared ending: one VerifyPassword question, then Success or Failure."""

    def __init__(self) -> None:
        self._authzid: str | None = None
        self._authcid = ""

    def _verify(self, authzid: str | None, authcid: str, password: str) -> VerifyPassword:
        # RFC 4616 §2: the presented authcid and password are prepared as query strings.
        self._authzid = authzid
        self._authcid = prepare_query(authcid)
        return VerifyPassword(authzid, self._authcid, prepare_query(password))

    def password_result(self, ok: bool, account: str | None) -> SaslEvent:
        if not ok:
            return Failure(INVALID_CREDENTIALS)
        return Success(self._authcid, self._authzid, account)


class PlainMechanism(_PasswordMechanism):
    """PLAIN: one message, ``[authzid] NUL authcid NUL passwd``."""

    def start(self, initial_response: bytes | None) -> SaslEvent:
        if initial_response is None:
            # RFC 4422 §5 (2a); RFC 4954 §4: a client-first mechanism without an initial
            # response gets an empty challenge.
            return Challenge(b"")
        return self.respond(initial_response)

    def respond(self, data: bytes) -> SaslEvent:
        # RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
        fields = data.split(b"\x00")
        if len(fields) != 3:
            raise Rejected(MALFORMED)
        authzid, authcid, password = (decode_utf8(item) for item in fields)
        # RFC 4616 §2: authcid = 1*SAFE, passwd = 1*SAFE.
        if not authcid or not password:
            raise Rejected(MALFORMED)
        # RFC 4422 §3.4.1: an empty authorization identity is an absent one.
        return self._verify(authzid or None, authcid, password)


class LoginMechanism(_PasswordMechanism):
    """LOGIN: a user name prompt, then a password prompt."""

    def __init__(self) -> None:
        super().__init__()
        self._username: str | None = None

    def start(self, initial_response: bytes | None) -> SaslEvent:
        if not initial_response:
            return Challenge(USERNAME_PROMPT)
        # Widely deployed liberty (the draft has no initial response): a client may send
        # the user name with the AUTH command.
        return self.respond(initial_response)

    def respond(self, data: bytes) -> SaslEvent:
        text = decode_utf8(data)
        if not text:
            raise Rejected(MALFORMED)
        if self._username is None:
            self._username = text
            return Challenge(PASSWORD_PROMPT)
        return self._verify(None, self._username, text)
