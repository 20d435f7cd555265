"""Logging a client in, the same way for every mail protocol.

A protocol driver calls :func:`login_password` for a plain login command (IMAP
``LOGIN``, POP3 ``USER``/``PASS``) and :func:`login_sasl` for ``AUTHENTICATE`` /
``AUTH``; :func:`sasl_mechanisms` and :func:`plaintext_login_allowed` say what to
advertise on a connection. Both ask the directories through the kernel
(``stalwart_authenticate``) and give a :class:`LoginResult` carrying the account's
store id, which is what ``kernel.store`` calls take.

Implementation notes:

- The SASL engine (:class:`kernel.sasl.SaslServer`) is sans-IO; this module is its
  one async driver. The protocol supplies only ``exchange``: send a challenge in
  the protocol's syntax, return the client's decoded answer (``None`` to cancel).
- SCRAM (SCRAM-SHA-256, SCRAM-SHA-1) asks the directory for the stored keys
  (``Credentials(kind="scram")``); the directory answers with the keys it has
  (``attributes["scram"]``: one :class:`~kernel.sasl.ScramKeys` or a list, one per
  hash) and this module picks those of the mechanism's hash; none for that hash
  (SCRAM-SHA-1 keys of a password set before they were stored) runs the mock
  exchange, which fails like an unknown user. The directory refuses a throttled
  or disabled user there. A wrong proof is decided by the engine, so it is
  reported back with ``stalwart_login_failed`` for the directory to count.
- A protocol may narrow or extend the configured mechanism list for its own
  sessions (``mechanisms=``; ManageSieve adds SCRAM-SHA-1, RFC 5804 §2.1).
- An authorization identity (RFC 4422 §3.4.1) other than the authenticated one is
  refused: there are no proxy-authorisation rights yet.
- A directory or store error becomes a *temporary* failure (POP3 ``[SYS/TEMP]``,
  SMTP 454, IMAP ``NO [UNAVAILABLE]``) and is logged; the client never sees it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, final

from kernel.errors import KernelError
from kernel.sasl import (
    Challenge,
    Failure,
    LookupScram,
    SaslEvent,
    SaslServer,
    ScramKeys,
    Success,
    VerifyPassword,
    VerifyToken,
    available_mechanisms,
)
from kernel.specs import AuthResult, Credentials

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.net.connection import Connection

__all__ = [
    "LoginResult",
    "login_password",
    "login_sasl",
    "plaintext_login_allowed",
    "sasl_mechanisms",
]

#: ``exchange(challenge)``: send a SASL challenge, return the decoded response or None.
Exchange = Callable[[bytes], Awaitable[bytes | None]]


@final
@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome of a login attempt.

    Attributes:
      ok: the client is logged in.
      account: the principal's name on success.
      account_id: its store id, for ``kernel.store`` calls.
      reason: why not, for logs (never shown to the client verbatim).
      temporary: the directory or store failed: answer with a temporary error.
      additional_data: SASL success data (RFC 4422 §3.6) when the protocol can carry it.
    """

    ok: bool
    account: str | None = None
    account_id: int | None = None
    reason: str = ""
    temporary: bool = False
    additional_data: bytes | None = None


def _config(conn: Connection) -> dict[str, object]:
    return conn.kernel.config["auth"]


def plaintext_login_allowed(conn: Connection) -> bool:
    """Whether a password may be sent on this connection now (TLS, or configured).

    RFC 8314 §3; RFC 9051 §6.2.3 (LOGINDISABLED); RFC 2595 §2.
    """
    return conn.tls is not None or bool(_config(conn)["allow_plaintext_without_tls"])


def _enabled(conn: Connection, mechanisms: Sequence[str] | None) -> list[str]:
    if mechanisms is not None:
        return [name.upper() for name in mechanisms]
    return [str(name) for name in _config(conn)["mechanisms"]]  # type: ignore[attr-defined]


def sasl_mechanisms(conn: Connection, mechanisms: Sequence[str] | None = None) -> list[str]:
    """The SASL mechanisms to advertise on this connection now, in preference order.

    Args:
      conn: the connection (TLS state, configuration).
      mechanisms: the protocol's own list, instead of ``auth.mechanisms``.
    """
    config = _config(conn)
    enabled = _enabled(conn, mechanisms)
    allowed = set(
        available_mechanisms(
            tls=conn.tls is not None,
            allow_plaintext_without_tls=bool(config["allow_plaintext_without_tls"]),
            enabled=enabled,
        )
    )
    return [name for name in enabled if name in allowed]


def _credentials(conn: Connection, kind: str, username: str | None, secret: str) -> Credentials:
    return Credentials(
        kind=kind,  # type: ignore[arg-type]
        username=username,
        secret=secret,
        protocol=conn.protocol.name,
        remote=conn.remote[0],
    )


async def _ask(kernel: Kernel, credentials: Credentials) -> AuthResult:
    return await kernel.authenticate(credentials)


async def _account_id(kernel: Kernel, account: str) -> int | None:
    principal = await kernel.store.directory.principal(account)
    return principal.id if principal is not None and principal.kind == "individual" else None


async def _finish(conn: Connection, result: AuthResult, data: bytes | None = None) -> LoginResult:
    if not result.ok or result.account is None:
        conn.log.info("login-failed", account=result.account, reason=result.reason)
        return LoginResult(ok=False, account=result.account, reason=result.reason)
    account_id = await _account_id(conn.kernel, result.account)
    if account_id is None:
        conn.log.info("login-failed", account=result.account, reason="not a mail account")
        return LoginResult(ok=False, account=result.account, reason="not a mail account")
    conn.log.info("login", account=result.account)
    return LoginResult(ok=True, account=result.account, account_id=account_id, additional_data=data)


def _temporary(conn: Connection, exc: Exception) -> LoginResult:
    conn.log.error("login-unavailable", error=f"{type(exc).__name__}: {exc}")
    return LoginResult(ok=False, reason="authentication unavailable", temporary=True)


async def login_password(conn: Connection, username: str, password: str) -> LoginResult:
    """Check a login name and password (or app password)."""
    if not plaintext_login_allowed(conn):
        return LoginResult(ok=False, reason="password login requires TLS")
    try:
        result = await _ask(conn.kernel, _credentials(conn, "password", username, password))
        return await _finish(conn, result)
    except (KernelError, OSError) as exc:
        return _temporary(conn, exc)


def _same_identity(authzid: str | None, authcid: str) -> bool:
    # RFC 4422 §3.4.1: an empty authzid means "act as the authenticated identity".
    return not authzid or authzid.strip().lower() == authcid.strip().lower()


async def login_sasl(
    conn: Connection,
    mechanism: str,
    initial_response: bytes | None,
    exchange: Exchange,
    *,
    success_data: bool = False,
    mechanisms: Sequence[str] | None = None,
) -> LoginResult:
    """Run one SASL exchange to its end.

    Args:
      conn: the client's connection (TLS state, address, protocol name, logger).
      mechanism: the mechanism the client named (case-insensitive).
      initial_response: the decoded initial response (SASL-IR), ``b""`` for an empty
        one (``=``), ``None`` when none was sent.
      exchange: sends a challenge in the protocol's syntax and returns the client's
        decoded answer, or ``None`` when the client cancelled (``*``) or sent
        something that is not base64.
      success_data: the protocol carries data in its success reply (ManageSieve);
        otherwise SCRAM's final message is one more challenge.
      mechanisms: the mechanisms enabled for this protocol, instead of
        ``auth.mechanisms`` (as given to :func:`sasl_mechanisms`).

    Returns:
      The outcome; ``additional_data`` holds SCRAM's server-final message when
      ``success_data`` is set.

    Raises:
      kernel.sasl.UnknownMechanism: not implemented or not enabled.
      kernel.sasl.MechanismNotAllowed: needs TLS and the connection has none.
    """
    config = _config(conn)
    sasl = SaslServer(
        mechanism,
        tls=conn.tls is not None,
        allow_plaintext_without_tls=bool(config["allow_plaintext_without_tls"]),
        enabled=_enabled(conn, mechanisms),
        success_data=success_data,
        max_response=int(config["max_response"]),  # type: ignore[call-overload]
    )
    scram_lookup: Credentials | None = None
    try:
        event: SaslEvent = sasl.start(initial_response)
        while True:
            if isinstance(event, Success):
                result = AuthResult(ok=True, account=event.account)
                return await _finish(conn, result, event.additional_data)
            if isinstance(event, Failure):
                if event.temporary:
                    return LoginResult(ok=False, reason=event.reason, temporary=True)
                if scram_lookup is not None:
                    conn.kernel.pm.hook.stalwart_login_failed(
                        kernel=conn.kernel, credentials=scram_lookup, reason=event.reason
                    )
                conn.log.info("login-failed", mechanism=sasl.mechanism, reason=event.reason)
                return LoginResult(ok=False, reason=event.reason)
            if isinstance(event, Challenge):
                answer = await exchange(event.data)
                event = sasl.cancel() if answer is None else sasl.receive(answer)
            elif isinstance(event, VerifyPassword):
                result = await _ask(
                    conn.kernel, _credentials(conn, "password", event.authcid, event.password)
                )
                ok = result.ok and _same_identity(event.authzid, event.authcid)
                event = sasl.password_result(ok, result.account if ok else None)
            elif isinstance(event, LookupScram):
                lookup = _credentials(conn, "scram", event.authcid, "")
                event, vouched = await _scram(conn, sasl, lookup, event)
                scram_lookup = lookup if vouched else None
            elif isinstance(event, VerifyToken):
                result = await _ask(conn.kernel, _credentials(conn, "token", None, event.token))
                ok = result.ok and (
                    not event.authzid or _same_identity(event.authzid, result.account or "")
                )
                event = sasl.token_result(ok, result.account if ok else None)
            else:  # pragma: no cover - the engine's event set is closed
                raise AssertionError(f"unexpected SASL event {event!r}")
    except (KernelError, OSError) as exc:
        sasl.abort()
        return _temporary(conn, exc)


async def _scram(
    conn: Connection, sasl: SaslServer, lookup: Credentials, event: LookupScram
) -> tuple[SaslEvent, bool]:
    """Answer a SCRAM key lookup; also whether a directory vouched for the user."""
    result = await _ask(conn.kernel, lookup)
    offered = result.attributes.get("scram") if result.ok else None
    if isinstance(offered, ScramKeys):
        offered = [offered]
    keys = next(
        (k for k in offered or () if isinstance(k, ScramKeys) and k.hash_name == event.hash_name),
        None,
    )
    if keys is None or not _same_identity(event.authzid, event.authcid):
        # Unknown, refused or impersonating: the engine runs a mock exchange and fails.
        return sasl.scram_credentials(None), False
    return sasl.scram_credentials(keys, result.account), True
