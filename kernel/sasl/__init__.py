"""SASL (RFC 4422) for the mail protocols: a sans-IO server engine and SCRAM key derivation.

Mechanisms: SCRAM-SHA-256 (RFC 7677), SCRAM-SHA-1 (RFC 5802), PLAIN (RFC 4616), LOGIN
(draft-murchison-sasl-login) and OAUTHBEARER (RFC 7628). See :mod:`kernel.sasl._server`
for how a protocol driver runs an exchange.
"""

from ._events import (
    Challenge,
    Failure,
    LookupScram,
    MechanismNotAllowed,
    SaslEvent,
    SaslStateError,
    Success,
    UnknownMechanism,
    VerifyPassword,
    VerifyToken,
)
from ._saslprep import saslprep
from ._scram import SCRAM_HASHES, ScramKeys, derive_scram_keys
from ._server import MECHANISMS, SaslServer, available_mechanisms

__all__ = [
    "MECHANISMS",
    "SCRAM_HASHES",
    "Challenge",
    "Failure",
    "LookupScram",
    "MechanismNotAllowed",
    "SaslEvent",
    "SaslServer",
    "SaslStateError",
    "ScramKeys",
    "Success",
    "UnknownMechanism",
    "VerifyPassword",
    "VerifyToken",
    "available_mechanisms",
    "derive_scram_keys",
    "saslprep",
]
