"""A loopback DNS server for tests: test zones over UDP and TCP on one port.

Outbound SMTP (MX lookup), and later SPF, DKIM, DMARC, DANE and MTA-STS, ask a
resolver configured with this server's address instead of the real DNS::

    async with dns_server({"example.test": {"MX": ["10 mx1.example.test."]},
                           "mx1.example.test": {"A": ["127.0.0.2"]}}) as server:
        resolver_config = {"nameservers": [server.host], "port": server.port}

Records are given in zone-file presentation form per owner name and type (any
type dnspython knows: A, AAAA, MX, TXT, TLSA, CNAME, ...). Answers follow the
usual rules: a name with records but none of the asked type answers NODATA
(NOERROR, empty answer); an unknown name NXDOMAIN; a CNAME is followed inside
the zones; names in :attr:`DnsServer.servfail` answer SERVFAIL.

Implementation notes:

* UDP and TCP (RFC 1035 §4.2.2: two-octet length prefix) share the port; the
  UDP socket is bound first on port 0, then TCP on the same number (retrying
  with a new UDP port if another process holds it).
* An answer larger than the client's UDP size (512, or its EDNS0 size) is sent
  truncated (TC bit) so the client retries over TCP; ``force_tcp`` truncates
  every UDP answer, to test that fallback.
* Every question received is appended to :attr:`DnsServer.queries` as
  ``(name, type, transport)``, so tests can assert what was asked.
* Records may be changed while the server runs (:meth:`DnsServer.set`).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import final

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import trio

__all__ = ["DnsServer", "Records", "dns_server"]

#: owner name -> record type -> presentation-form values
Records = Mapping[str, Mapping[str, Iterable[str]]]

_MAX_CNAME_CHAIN = 8


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(text if text.endswith(".") else text + ".")


@final
class DnsServer:
    """The zones and counters of one running test DNS server (see the module notes)."""

    def __init__(self, records: Records | None = None, *, ttl: int = 300) -> None:
        self.ttl = ttl
        self.host = "127.0.0.1"
        self.port = 0
        self.force_tcp = False
        #: Owner names (lower case, without the final dot) answered with SERVFAIL.
        self.servfail: set[str] = set()
        self.queries: list[tuple[str, str, str]] = []
        self._zone: dict[dns.name.Name, dict[dns.rdatatype.RdataType, list[dns.rdata.Rdata]]] = {}
        for owner, types in (records or {}).items():
            for rdtype, values in types.items():
                self.set(owner, rdtype, *values)

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def set(self, owner: str, rdtype: str, *values: str) -> None:
        """Replace the records of ``owner``/``rdtype`` (no values: delete them)."""
        name, kind = _name(owner), dns.rdatatype.from_text(rdtype)
        rdatas = [
            dns.rdata.from_text(dns.rdataclass.IN, kind, v, origin=dns.name.root, relativize=False)
            for v in values
        ]
        types = self._zone.setdefault(name, {})
        if rdatas:
            types[kind] = rdatas
        else:
            types.pop(kind, None)
            if not types:
                del self._zone[name]

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        """The response to ``query`` from the zones."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        name, rdtype = question.name, question.rdtype
        if name.to_text(omit_final_dot=True).lower() in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        for _ in range(_MAX_CNAME_CHAIN):
            types = self._zone.get(name)
            if types is None:
                if not response.answer:  # a dangling CNAME still answers NOERROR
                    response.set_rcode(dns.rcode.NXDOMAIN)
                return response
            if rdtype in types:
                response.answer.append(self._rrset(name, rdtype, types[rdtype]))
                return response
            cname = types.get(dns.rdatatype.CNAME)
            if cname is None:
                return response  # NODATA
            response.answer.append(self._rrset(name, dns.rdatatype.CNAME, cname))
            name = cname[0].target  # type: ignore[attr-defined]
        return response

    def _rrset(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, rdatas: list[dns.rdata.Rdata]
    ) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(name, dns.rdataclass.IN, rdtype)
        for rdata in rdatas:
            rrset.add(rdata, self.ttl)
        return rrset

    def _respond(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        for question in query.question:
            self.queries.append(
                (
                    question.name.to_text(omit_final_dot=True).lower(),
                    dns.rdatatype.to_text(question.rdtype),
                    transport,
                )
            )
        response = self.answer(query)
        if transport == "tcp":
            return response.to_wire()
        limit = max(512, query.payload) if query.edns >= 0 else 512
        try:
            if self.force_tcp:
                raise dns.exception.TooBig
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            # RFC 1035 §4.2.1: too long for UDP: truncated, the client retries over TCP.
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    async def _serve_udp(self, sock: trio.socket.SocketType) -> None:
        while True:
            wire, peer = await sock.recvfrom(65535)
            reply = self._respond(wire, "udp")
            if reply is not None:
                await sock.sendto(reply, peer)

    async def _serve_tcp_client(self, stream: trio.SocketStream) -> None:
        buffer = b""
        async with stream:
            try:
                while True:
                    while len(buffer) < 2 or len(buffer) < 2 + int.from_bytes(buffer[:2], "big"):
                        data = await stream.receive_some(65535)
                        if not data:
                            return
                        buffer += data
                    size = int.from_bytes(buffer[:2], "big")
                    wire, buffer = buffer[2 : 2 + size], buffer[2 + size :]
                    reply = self._respond(wire, "tcp")
                    if reply is None:
                        return
                    await stream.send_all(len(reply).to_bytes(2, "big") + reply)
            except trio.BrokenResourceError:
                return


async def _bind_pair(host: str) -> tuple[trio.socket.SocketType, trio.socket.SocketType]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(20):
        udp = trio.socket.socket(family, socket.SOCK_DGRAM)
        await udp.bind((host, 0))
        port = udp.getsockname()[1]
        tcp = trio.socket.socket(family, socket.SOCK_STREAM)
        try:
            await tcp.bind((host, port))
        except OSError as exc:
            udp.close()
            tcp.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        tcp.listen(16)
        return udp, tcp
    raise OSError(errno.EADDRINUSE, "no port free for both UDP and TCP")


@asynccontextmanager
async def dns_server(
    records: Records | None = None, *, host: str = "127.0.0.1", ttl: int = 300
) -> AsyncIterator[DnsServer]:
    """Serve ``records`` on ``host`` (a free port, UDP and TCP) for the block."""
    server = DnsServer(records, ttl=ttl)
    udp, tcp = await _bind_pair(host)
    server.host, server.port = host, udp.getsockname()[1]
    listener = trio.SocketListener(tcp)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server._serve_udp, udp)
            nursery.start_soon(trio.serve_listeners, server._serve_tcp_client, [listener])
            try:
                yield server
            finally:
                nursery.cancel_scope.cancel()
    finally:
        udp.close()
        await listener.aclose()
