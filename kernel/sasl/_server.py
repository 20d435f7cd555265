"""The server side of a SASL exchange (RFC 4422), shared by SMTP, IMAP, POP3 and ManageSieve.

A driver creates one :class:`SaslServer` per AUTH / AUTHENTICATE command, calls
:meth:`~SaslServer.start` with the client's initial response, and then loops on the
returned event: it sends a :class:`Challenge` and feeds the client's (base64-decoded)
answer to :meth:`~SaslServer.receive` (or calls :meth:`~SaslServer.cancel` on ``*``);
it answers a question (:class:`VerifyPassword`, :class:`LookupScram`,
:class:`VerifyToken`) by asking the directory and calling the matching result method;
it stops at :class:`Success` or :class:`Failure`.

Implementation notes:

- Sans-IO (STYLE.md §1.4): no trio, no store, no clock. Base64 and the protocols'
  continuation syntax stay in the drivers.
- Client input never raises: malformed data, responses over ``max_response`` bytes, a
  response after the exchange ended or while a question is pending all return a
  :class:`Failure` and end the exchange. The driver's mistakes do raise
  (:class:`SaslStateError`): answering a question that was not asked, or answering
  twice.
- The engine never tells an unknown user from a wrong password: both end in
  ``Failure("invalid credentials")``, and SCRAM runs a mock exchange for unknown users.
- PLAIN, LOGIN and OAUTHBEARER send secrets in the clear, so they are offered only over
  TLS unless ``allow_plaintext_without_tls`` (RFC 4954 §4, RFC 9051 §6.2.3's
  LOGINDISABLED, RFC 7628 §3: "TLS MUST be used for OAUTHBEARER").
- A driver-side failure (directory down) is reported with :meth:`SaslServer.abort`,
  which ends the exchange with a temporary :class:`Failure`.

Theory of operation: the engine is in one phase at a time, and the phase follows from
the last event it returned: *start* (nothing yet) -> *response* (after a Challenge) or
*password* / *scram* / *token* (after the matching question) -> ... -> *done* (after
Success or Failure). ``start`` is legal only in *start*, ``receive`` only in *response*,
each answer method only after its own question; ``cancel`` and ``abort`` at any time. The
mechanism objects (``_plain``, ``_scram``, ``_oauth``) hold the mechanism's own state.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from typing import Final, final

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
from ._mechanism import Mechanism, Rejected
from ._oauth import OAuthBearerMechanism
from ._plain import LoginMechanism, PlainMechanism
from ._scram import DEFAULT_ITERATIONS, SCRAM_HASHES, ScramKeys, ScramMechanism

__all__ = ["MECHANISMS", "SaslServer", "available_mechanisms"]

#: Every mechanism implemented, in the order of preference advertised to clients.
MECHANISMS: Final = ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN", "OAUTHBEARER")
_NEEDS_TLS: Final = frozenset({"PLAIN", "LOGIN", "OAUTHBEARER"})
DEFAULT_MAX_RESPONSE: Final = 16384


def _enabled_set(enabled: Collection[str] | None) -> frozenset[str]:
    if enabled is None:
        return frozenset(MECHANISMS)
    return frozenset(name.upper() for name in enabled)


def available_mechanisms(
    *,
    tls: bool,
    allow_plaintext_without_tls: bool = False,
    enabled: Collection[str] | None = None,
) -> list[str]:
    """The mechanisms to advertise on a connection, in preference order.

    Args:
      tls: whether the connection is encrypted (implicit TLS or after STARTTLS).
      allow_plaintext_without_tls: offer the clear-text mechanisms (and OAUTHBEARER)
        without TLS too; for tests and loopback-only setups.
      enabled: the mechanisms the configuration enables (case-insensitive); all of
        :data:`MECHANISMS` when ``None``.

    Returns:
      A new list, possibly empty.
    """
    allowed = _enabled_set(enabled)
    # RFC 4954 §4; RFC 7628 §3: secrets in the clear only under TLS.
    return [
        name
        for name in MECHANISMS
        if name in allowed and (tls or allow_plaintext_without_tls or name not in _NEEDS_TLS)
    ]


class _Phase(enum.Enum):
    START = "start"
    RESPONSE = "response"
    PASSWORD = "password"
    SCRAM = "scram"
    TOKEN = "token"
    DONE = "done"


_PHASE_AFTER: Final[dict[type, _Phase]] = {
    Challenge: _Phase.RESPONSE,
    VerifyPassword: _Phase.PASSWORD,
    LookupScram: _Phase.SCRAM,
    VerifyToken: _Phase.TOKEN,
    Success: _Phase.DONE,
    Failure: _Phase.DONE,
}


@final
class SaslServer:
    """One server-side SASL exchange.

    Args:
      mechanism: the name the client asked for (case-insensitive).
      tls: whether the connection is encrypted.
      allow_plaintext_without_tls: see :func:`available_mechanisms`.
      enabled: see :func:`available_mechanisms`.
      success_data: the protocol can carry additional data with its success reply
        (ManageSieve). When ``False`` SCRAM's server-final message is sent as a last
        :class:`Challenge` that the client answers with an empty response.
      max_response: the largest client response accepted, in decoded bytes.
      mock_iterations: SCRAM iteration count shown for unknown users; make it the one
        the store uses for real users.
      mock_secret: key for SCRAM's salts of unknown users; random per process if ``None``.
      oauth_scope, oauth_openid_configuration: extra members of OAUTHBEARER's error
        challenge (RFC 7628 §3.2.2).
      _nonce: SCRAM server nonce, for reproducing test vectors only.

    Raises:
      UnknownMechanism: the mechanism is not implemented or not enabled.
      MechanismNotAllowed: the mechanism needs TLS and the connection has none.

    Error handling: see the module docstring; client input yields :class:`Failure`,
    driver misuse raises :class:`SaslStateError`.
    """

    def __init__(
        self,
        mechanism: str,
        *,
        tls: bool,
        allow_plaintext_without_tls: bool = False,
        enabled: Collection[str] | None = None,
        success_data: bool = False,
        max_response: int = DEFAULT_MAX_RESPONSE,
        mock_iterations: int = DEFAULT_ITERATIONS,
        mock_secret: bytes | None = None,
        oauth_scope: str | None = None,
        oauth_openid_configuration: str | None = None,
        _nonce: str | None = None,
    ) -> None:
        name = mechanism.upper()
        if name not in MECHANISMS or name not in _enabled_set(enabled):
            raise UnknownMechanism(f"unsupported SASL mechanism {mechanism!r}")
        if name not in available_mechanisms(
            tls=tls, allow_plaintext_without_tls=allow_plaintext_without_tls
        ):
            raise MechanismNotAllowed(f"SASL mechanism {name} requires TLS")
        if max_response < 1 or mock_iterations < 1:
            raise ValueError("max_response and mock_iterations must be positive")
        self._name = name
        self._max_response = max_response
        self._phase = _Phase.START
        self._outcome: Success | Failure | None = None
        self._mechanism: Mechanism
        if name == "PLAIN":
            self._mechanism = PlainMechanism()
        elif name == "LOGIN":
            self._mechanism = LoginMechanism()
        elif name in SCRAM_HASHES:
            self._mechanism = ScramMechanism(
                hash_name=SCRAM_HASHES[name],
                success_data=success_data,
                mock_iterations=mock_iterations,
                mock_secret=mock_secret,
                nonce=_nonce,
            )
        else:
            self._mechanism = OAuthBearerMechanism(
                scope=oauth_scope, openid_configuration=oauth_openid_configuration
            )

    @property
    def mechanism(self) -> str:
        """The mechanism's canonical (upper-case) name."""
        return self._name

    @property
    def done(self) -> bool:
        """Whether the exchange has ended."""
        return self._phase is _Phase.DONE

    @property
    def outcome(self) -> Success | Failure | None:
        """The final event once :attr:`done`, else ``None``."""
        return self._outcome

    # ------------------------------------------------------------------ client input

    def start(self, initial_response: bytes | None) -> SaslEvent:
        """Begin the exchange.

        Args:
          initial_response: ``None`` when the client sent no initial response, ``b""``
            for an empty one (``=`` in SMTP, IMAP and POP3; RFC 4954 §4, RFC 4959 §3).
        """
        if self._phase is not _Phase.START:
            return self._end(Failure("unexpected response"))
        if initial_response is not None and len(initial_response) > self._max_response:
            return self._end(Failure("response too long"))
        return self._run(self._mechanism.start, initial_response)

    def receive(self, response: bytes) -> SaslEvent:
        """Feed the client's response to the last :class:`Challenge`."""
        if self._phase is not _Phase.RESPONSE:
            return self._end(Failure("unexpected response"))
        if len(response) > self._max_response:
            return self._end(Failure("response too long"))
        return self._run(self._mechanism.respond, response)

    def cancel(self) -> Failure:
        """The client aborted the exchange (``*``; RFC 4422 §3.5)."""
        failure = Failure("authentication cancelled")
        self._end(failure)
        return failure

    # ------------------------------------------------------------------ driver answers

    def password_result(self, ok: bool, account: str | None = None) -> SaslEvent:
        """Answer :class:`VerifyPassword`: ``ok`` if the password is right and authorised."""
        self._expect(_Phase.PASSWORD)
        return self._run(self._mechanism.password_result, ok, account)

    def scram_credentials(self, keys: ScramKeys | None, account: str | None = None) -> SaslEvent:
        """Answer :class:`LookupScram` with the stored keys, or ``None`` (unknown user).

        Raises:
          SaslStateError: no SCRAM question is pending.
          ValueError: ``keys`` are for another hash than the question's ``hash_name``.
        """
        self._expect(_Phase.SCRAM)
        return self._run(self._mechanism.scram_credentials, keys, account)

    def token_result(
        self, ok: bool, account: str | None = None, *, status: str = "invalid_token"
    ) -> SaslEvent:
        """Answer :class:`VerifyToken`.

        Args:
          ok: the token is valid (and may act as the requested authzid).
          account: the token's owner; required when ``ok``.
          status: the OAuth error code for the error challenge when not ``ok``
            (RFC 6750 §3.1: ``invalid_token``, ``insufficient_scope``, ...).

        Raises:
          SaslStateError: no token question is pending.
          ValueError: ``ok`` without ``account``.
        """
        self._expect(_Phase.TOKEN)
        return self._run(self._mechanism.token_result, ok, account, status)

    def abort(
        self, reason: str = "authentication unavailable", *, temporary: bool = True
    ) -> Failure:
        """End the exchange from the server side, e.g. when the directory is unreachable."""
        failure = Failure(reason, temporary)
        self._end(failure)
        return failure

    # ------------------------------------------------------------------ internals

    def _expect(self, phase: _Phase) -> None:
        if self._phase is not phase:
            raise SaslStateError(f"no {phase.value} question is pending ({self._phase.value})")

    def _run(self, step: Callable[..., SaslEvent], *args: object) -> SaslEvent:
        try:
            event = step(*args)
        except Rejected as exc:
            event = Failure(exc.reason)
        return self._end(event)

    def _end(self, event: SaslEvent) -> SaslEvent:
        self._phase = _PHASE_AFTER[type(event)]
        if isinstance(event, Success | Failure):
            self._outcome = event
        return event
