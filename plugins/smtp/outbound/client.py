"""The trio side of the SMTP client: one connection to one host, one transaction.

:func:`deliver_to_host` connects, reads the greeting, says EHLO (HELO if EHLO is
refused, RFC 5321 §3.2), upgrades with STARTTLS when offered (RFC 3207),
authenticates to a smarthost, then sends MAIL, the RCPTs and DATA (in one
write when the server offers PIPELINING, RFC 2920 §3.1), the message, and QUIT.
Parsing lives in :mod:`plugins.smtp.outbound.clientproto`.

Error handling: anything that says "this host, not this message" (no
connection, a refused greeting or EHLO, a 4xx to MAIL, a broken connection, a
malformed reply, a timeout) raises :class:`HostFailed`, and the caller tries the
next host. A 5xx to MAIL, or a message the host cannot take (SIZE, SMTPUTF8),
fails every recipient permanently: the result says so per recipient.

Implementation notes:

* Opportunistic TLS does not verify the certificate (RFC 3207 §4.1 leaves the
  decision to the client; DANE and MTA-STS, later, will). ``tls: require``
  refuses hosts without STARTTLS.
* The window of duplicates: a connection lost after the final "." was sent
  and before the reply arrived counts as a temporary failure, so the message is
  sent again later (RFC 1047): the remote may have accepted it.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import final

import trio

from plugins.smtp.outbound.clientproto import (
    Capabilities,
    ClientReply,
    ReplyError,
    ReplyReader,
    auth_plain,
    dot_stuff,
    mail_command,
    rcpt_command,
)

__all__ = ["Envelope", "HostFailed", "HostResult", "Timeouts", "deliver_to_host"]

_BROKEN = (OSError, trio.BrokenResourceError, trio.TooSlowError, ReplyError, ssl.SSLError)


@final
@dataclass(frozen=True, slots=True)
class Envelope:
    """What to send: the reverse-path, recipients with (notify, orcpt), the bytes."""

    return_path: str
    recipients: Sequence[tuple[str, str | None, str | None]]
    raw: bytes
    body: str | None = None
    smtputf8: bool = False
    ret: str | None = None
    envid: str | None = None


@final
@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 30.0
    command: float = 300.0
    data: float = 600.0


@final
@dataclass(slots=True)
class HostResult:
    """The replies one host gave, per recipient (a synthetic reply where none was sent)."""

    host: str
    address: str
    replies: dict[str, ClientReply] = field(default_factory=dict)
    dsn: bool = False  # the host offered DSN, so it takes over the notifications
    tls: bool = False


class HostFailed(Exception):
    """This host could not take the message now; try the next one."""

    def __init__(self, text: str, reply: ClientReply | None = None) -> None:
        super().__init__(text)
        self.reply = reply
        self.text = text


def _local(code: int, status: str, text: str) -> ClientReply:
    return ClientReply(code, (f"{status} {text}",))


def tls_context() -> ssl.SSLContext:
    """The context for opportunistic STARTTLS: encryption without authentication."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class _Conn:
    def __init__(self, stream: trio.abc.Stream, timeouts: Timeouts) -> None:
        self.stream = stream
        self.reader = ReplyReader()
        self.timeouts = timeouts

    async def read(self, timeout: float | None = None) -> ClientReply:
        with trio.fail_after(timeout or self.timeouts.command):
            while (reply := self.reader.next_reply()) is None:
                data = await self.stream.receive_some(65536)
                if not data:
                    raise HostFailed("connection closed by the server")
                self.reader.feed(data)
        return reply

    async def send(self, data: bytes) -> None:
        with trio.fail_after(self.timeouts.command):
            await self.stream.send_all(data)

    async def command(self, data: bytes) -> ClientReply:
        await self.send(data)
        return await self.read()


async def _hello(conn: _Conn, helo: str) -> Capabilities:
    reply = await conn.command(f"EHLO {helo}\r\n".encode())
    if reply.positive:
        return Capabilities.from_ehlo(reply)
    if reply.code == 421:
        raise HostFailed(f"EHLO: {reply}", reply)
    reply = await conn.command(f"HELO {helo}\r\n".encode())  # RFC 5321 §3.2
    if not reply.positive:
        raise HostFailed(f"HELO: {reply}", reply)
    return Capabilities()


async def _session(
    conn: _Conn,
    result: HostResult,
    envelope: Envelope,
    *,
    helo: str,
    server_hostname: str,
    tls: str,
    auth: tuple[str, str] | None,
) -> None:
    greeting = await conn.read()
    if not greeting.positive:
        # RFC 5321 §3.1: a 554 greeting; the client should try another host.
        raise HostFailed(f"greeting: {greeting}", greeting)
    caps = await _hello(conn, helo)
    if "STARTTLS" in caps and tls != "none":
        reply = await conn.command(b"STARTTLS\r\n")
        if reply.code == 220:
            sni = (
                server_hostname if server_hostname and not server_hostname.startswith("[") else None
            )
            ssl_stream = trio.SSLStream(conn.stream, tls_context(), server_hostname=sni)
            with trio.fail_after(conn.timeouts.command):
                await ssl_stream.do_handshake()
            conn.stream, conn.reader = ssl_stream, ReplyReader()
            result.tls = True
            caps = await _hello(conn, helo)  # RFC 3207 §4.2: forget what came before
        elif tls == "require":
            raise HostFailed(f"STARTTLS refused: {reply}", reply)
    elif tls == "require":
        raise HostFailed("the host does not offer STARTTLS (tls: require)")
    if auth is not None:
        if "PLAIN" not in caps.auth_mechanisms:
            raise HostFailed("the smarthost does not offer AUTH PLAIN")
        if not result.tls and tls != "none":
            raise HostFailed("not sending credentials without TLS")
        reply = await conn.command(auth_plain(*auth))
        if reply.code != 235:
            raise HostFailed(f"AUTH: {reply}", reply)
    result.dsn = "DSN" in caps
    size = len(envelope.raw)
    refusal: ClientReply | None = None
    if caps.size_limit is not None and size > caps.size_limit:
        # RFC 1870 §6.3: larger than the host's fixed maximum: a permanent failure.
        refusal = _local(552, "5.3.4", f"message size {size} exceeds the host's limit")
    elif envelope.smtputf8 and "SMTPUTF8" not in caps:
        # RFC 6531 §3.2: the message needs SMTPUTF8 and the host lacks it.
        refusal = _local(553, "5.6.7", "the host does not support SMTPUTF8")
    if refusal is not None:
        result.replies = {rcpt: refusal for rcpt, _, _ in envelope.recipients}
        return
    # deviation(RFC 6152 §3): an 8-bit body goes to a host without 8BITMIME
    # unconverted (no downgrade to quoted-printable), as most MTAs do.
    mail = mail_command(
        envelope.return_path,
        caps,
        size=size,
        body=envelope.body,
        smtputf8=envelope.smtputf8,
        ret=envelope.ret,
        envid=envelope.envid,
    )
    rcpts = [rcpt_command(a, caps, notify=n, orcpt=o) for a, n, o in envelope.recipients]
    pipelining = "PIPELINING" in caps
    accepted: list[str] = []
    if pipelining:
        # RFC 2920 §3.1: MAIL, RCPT... and DATA in one batch, replies read in order.
        await conn.send(mail + b"".join(rcpts) + b"DATA\r\n")
    else:
        await conn.send(mail)
    mail_reply = await conn.read()
    for (address, _, _), command in zip(envelope.recipients, rcpts, strict=True):
        if not pipelining:
            if not mail_reply.positive:
                break
            await conn.send(command)
        reply = await conn.read()
        result.replies[address] = reply
        if reply.positive:
            accepted.append(address)
    data_reply: ClientReply | None = None
    if pipelining:
        data_reply = await conn.read()
    elif mail_reply.positive and accepted:
        data_reply = await conn.command(b"DATA\r\n")
    if not mail_reply.positive:
        if mail_reply.transient:
            raise HostFailed(f"MAIL: {mail_reply}", mail_reply)
        result.replies = {rcpt: mail_reply for rcpt, _, _ in envelope.recipients}
        return
    if data_reply is None or data_reply.code != 354:
        if data_reply is not None and accepted:
            for address in accepted:
                result.replies[address] = data_reply
        await conn.command(b"RSET\r\n")
        return
    if not accepted:
        # RFC 2920 §3.1: DATA was accepted though no RCPT was; send an empty message.
        await conn.send(b".\r\n")
        await conn.read(conn.timeouts.data)
        return
    with trio.fail_after(conn.timeouts.data):
        await conn.stream.send_all(dot_stuff(envelope.raw))
    final = await conn.read(conn.timeouts.data)
    for address in accepted:
        result.replies[address] = final


async def deliver_to_host(
    address: str,
    port: int,
    envelope: Envelope,
    *,
    host: str,
    helo: str,
    tls: str = "opportunistic",
    auth: tuple[str, str] | None = None,
    timeouts: Timeouts | None = None,
) -> HostResult:
    """Send ``envelope`` to ``address``:``port`` (MX ``host``); the replies per recipient.

    Raises:
        HostFailed: the host could not take the message now (see the module notes).
    """
    timeouts = timeouts or Timeouts()
    result = HostResult(host=host, address=address)
    try:
        with trio.fail_after(timeouts.connect):
            stream: trio.abc.Stream = await trio.open_tcp_stream(address, port)
    except (OSError, trio.TooSlowError) as exc:
        raise HostFailed(f"connect to {address}:{port}: {exc or 'timeout'}") from exc
    conn = _Conn(stream, timeouts)
    try:
        try:
            await _session(
                conn, result, envelope, helo=helo, server_hostname=host, tls=tls, auth=auth
            )
        except HostFailed:
            raise
        except _BROKEN as exc:
            if result.replies and all(r.permanent for r in result.replies.values()):
                return result
            raise HostFailed(f"{type(exc).__name__}: {exc}") from exc
        # The transaction is over; a failing QUIT changes nothing (RFC 5321 §4.1.1.10).
        with contextlib.suppress(HostFailed, *_BROKEN), trio.move_on_after(5):
            await conn.command(b"QUIT\r\n")
    finally:
        await trio.aclose_forcefully(conn.stream)
    return result
