"""What every mechanism implements, and helpers shared by the mechanism modules.

A mechanism object is private to one :class:`~kernel.sasl.SaslServer`, which checks the
order of calls before delegating: a mechanism only gets ``respond`` after it returned a
:class:`Challenge`, and only gets an answer to the question it asked. Mechanisms signal a
failed exchange by returning :class:`Failure` or raising :class:`Rejected`, which the
server turns into a :class:`Failure`; any other exception is a bug.
"""

from __future__ import annotations

import re
from typing import Final

from ._events import SaslEvent, SaslStateError
from ._saslprep import saslprep

__all__ = [
    "INVALID_CREDENTIALS",
    "MALFORMED",
    "NO_CHANNEL_BINDING",
    "Mechanism",
    "Rejected",
    "decode_saslname",
    "decode_utf8",
    "parse_gs2_header",
    "prepare_query",
]

MALFORMED: Final = "malformed response"
INVALID_CREDENTIALS: Final = "invalid credentials"
NO_CHANNEL_BINDING: Final = "channel binding not supported"

# RFC 5802 §7: saslname = 1*(value-safe-char / "=2C" / "=3D"); value-safe-char is any
# UTF-8 character except NUL, "=" and ",".
_SASLNAME: Final = re.compile(r"(?:[^\x00=,]|=2C|=3D)+")
_SASLNAME_ESCAPE: Final = re.compile(r"=(2C|3D)")


class Rejected(Exception):
    """The client's input ends the exchange with ``Failure(reason)``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Mechanism:
    """Base class of the mechanisms; the answer methods default to "not asked"."""

    def start(self, initial_response: bytes | None) -> SaslEvent:
        """Begin the exchange; ``None`` means the client sent no initial response."""
        raise NotImplementedError

    def respond(self, data: bytes) -> SaslEvent:
        """Take the client's response to the last :class:`Challenge`."""
        raise NotImplementedError

    def password_result(self, ok: bool, account: str | None) -> SaslEvent:
        raise SaslStateError("this mechanism never asks to verify a password")

    def scram_credentials(self, keys: object, account: str | None) -> SaslEvent:
        raise SaslStateError("this mechanism never asks for SCRAM keys")

    def token_result(self, ok: bool, account: str | None, status: str) -> SaslEvent:
        raise SaslStateError("this mechanism never asks to verify a token")


def decode_utf8(data: bytes) -> str:
    """Decode strictly (no overlong forms, no surrogates), or reject the exchange."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(MALFORMED) from None


def decode_saslname(text: str) -> str:
    """Undo the ``=2C`` / ``=3D`` escaping of a SCRAM or GS2 ``saslname``.

    RFC 5802 §5.1: a username containing "=" not followed by "2C" or "3D" MUST fail.
    """
    if not _SASLNAME.fullmatch(text):
        raise Rejected(MALFORMED)
    return _SASLNAME_ESCAPE.sub(lambda m: "," if m.group(1) == "2C" else "=", text)


def prepare_query(text: str, reason: str = INVALID_CREDENTIALS) -> str:
    """SASLprep a presented string as a query; a failure or an empty result rejects.

    RFC 4616 §2: "if preparation fails or results in an empty string, verification SHALL
    fail"; presented strings are queries, so unassigned code points are allowed.
    """
    try:
        prepared = saslprep(text, allow_unassigned=True)
    except ValueError:
        raise Rejected(reason) from None
    if not prepared:
        raise Rejected(reason)
    return prepared


def parse_gs2_header(text: str) -> tuple[str, str | None, str]:
    """Split a GS2 header off ``text``; return ``(header, authzid, rest)``.

    Channel binding (``p=``) is refused: we never advertise a ``-PLUS`` mechanism, so a
    client asking for it must fail (RFC 5802 §6). ``y`` ("I could bind, but you seem not
    to offer it") is accepted for the same reason.
    """
    # RFC 5801 §4: gs2-header = [gs2-nonstd-flag ","] gs2-cb-flag "," [gs2-authzid] ","
    # RFC 5802 §7: gs2-cbind-flag = ("p=" cb-name) / "n" / "y"; authzid = "a=" saslname
    # The nonstandard flag "F" is for GSS-API mechanisms, not SASL ones: refused below.
    flag, comma, rest = text.partition(",")
    authzid_field, comma2, rest = rest.partition(",")
    if not (comma and comma2):
        raise Rejected(MALFORMED)
    if flag.startswith("p="):
        raise Rejected(NO_CHANNEL_BINDING)
    if flag not in ("n", "y"):
        raise Rejected(MALFORMED)
    authzid = None
    if authzid_field:
        if not authzid_field.startswith("a="):
            raise Rejected(MALFORMED)
        authzid = decode_saslname(authzid_field[2:])
    header = f"{flag},{authzid_field},"
    return header, authzid, rest
