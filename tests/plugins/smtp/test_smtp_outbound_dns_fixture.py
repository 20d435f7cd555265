"""The loopback DNS fixture (kernel.testing.dns), queried with dnspython over UDP and TCP."""

from __future__ import annotations

import dns.asyncquery
import dns.asyncresolver
import dns.message
import dns.rcode
import dns.resolver
import pytest
import trio

from kernel.testing.dns import DnsServer, dns_server

ZONES = {
    "example.test": {
        "MX": ["10 mx1.example.test.", "20 mx2.example.test."],
        "TXT": ['"v=spf1 -all"'],
    },
    "mx1.example.test": {"A": ["127.0.0.2"], "AAAA": ["::1"]},
    "mx2.example.test": {"A": ["127.0.0.3"]},
    "alias.example.test": {"CNAME": ["mx1.example.test."]},
    "_25._tcp.mx1.example.test": {"TLSA": ["3 1 1 " + "ab" * 32]},
    "nullmx.test": {"MX": ["0 ."]},
}


def _resolver(server: DnsServer) -> dns.asyncresolver.Resolver:
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [server.host]
    resolver.port = server.port
    resolver.lifetime = 5
    return resolver


async def test_smtp_outbound_dns_fixture_answers_each_type() -> None:
    async with dns_server(ZONES) as server:
        resolver = _resolver(server)
        mx = await resolver.resolve("example.test", "MX")
        assert sorted((r.preference, r.exchange.to_text()) for r in mx) == [
            (10, "mx1.example.test."),
            (20, "mx2.example.test."),
        ]
        assert [r.to_text() for r in await resolver.resolve("mx1.example.test", "A")] == [
            "127.0.0.2"
        ]
        assert [r.to_text() for r in await resolver.resolve("mx1.example.test", "AAAA")] == ["::1"]
        txt = await resolver.resolve("example.test", "TXT")
        assert [b"".join(r.strings) for r in txt] == [b"v=spf1 -all"]
        tlsa = await resolver.resolve("_25._tcp.mx1.example.test", "TLSA")
        assert [(r.usage, r.selector, r.mtype) for r in tlsa] == [(3, 1, 1)]
        null = await resolver.resolve("nullmx.test", "MX")
        assert [(r.preference, r.exchange.to_text()) for r in null] == [(0, ".")]
        assert ("example.test", "MX", "udp") in server.queries


async def test_smtp_outbound_dns_fixture_follows_cname() -> None:
    async with dns_server(ZONES) as server:
        answer = await _resolver(server).resolve("alias.example.test", "A")
        assert answer.canonical_name.to_text() == "mx1.example.test."
        assert [r.to_text() for r in answer] == ["127.0.0.2"]


async def test_smtp_outbound_dns_fixture_nxdomain_nodata_servfail() -> None:
    async with dns_server(ZONES) as server:
        resolver = _resolver(server)
        with pytest.raises(dns.resolver.NXDOMAIN):
            await resolver.resolve("missing.example.test", "A")
        with pytest.raises(dns.resolver.NoAnswer):
            await resolver.resolve("mx2.example.test", "AAAA")
        server.servfail.add("example.test")
        query = dns.message.make_query("example.test", "MX")
        response = await dns.asyncquery.udp(query, server.host, port=server.port, timeout=5)
        assert response.rcode() == dns.rcode.SERVFAIL


async def test_smtp_outbound_dns_fixture_tcp_and_truncation_fallback() -> None:
    async with dns_server(ZONES) as server:
        query = dns.message.make_query("example.test", "MX")
        response = await dns.asyncquery.tcp(query, server.host, port=server.port, timeout=5)
        assert len(response.answer[0]) == 2
        server.force_tcp = True
        answer = await _resolver(server).resolve("mx2.example.test", "A")
        assert [r.to_text() for r in answer] == ["127.0.0.3"]
        transports = [t for name, _, t in server.queries if name == "mx2.example.test"]
        assert transports == ["udp", "tcp"]  # truncated over UDP, then asked over TCP


async def test_smtp_outbound_dns_fixture_large_answer_truncates() -> None:
    many = {"big.test": {"TXT": [f'"{"x" * 200} {i}"' for i in range(10)]}}
    async with dns_server(many) as server:
        query = dns.message.make_query("big.test", "TXT", use_edns=False)
        udp = await dns.asyncquery.udp(query, server.host, port=server.port, timeout=5)
        assert udp.flags & dns.flags.TC
        answer = await _resolver(server).resolve("big.test", "TXT")
        assert len(answer) == 10


async def test_smtp_outbound_dns_fixture_records_change_while_running() -> None:
    async with dns_server(ZONES) as server:
        resolver = _resolver(server)
        server.set("new.example.test", "A", "127.0.0.9")
        assert [r.to_text() for r in await resolver.resolve("new.example.test", "A")] == [
            "127.0.0.9"
        ]
        server.set("new.example.test", "A")
        with pytest.raises(dns.resolver.NXDOMAIN):
            await resolver.resolve("new.example.test", "A")


async def test_smtp_outbound_dns_fixture_ignores_garbage() -> None:
    async with dns_server(ZONES) as server:
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        with sock:
            await sock.sendto(b"\x00garbage", server.address)
        # Still serving after a malformed datagram.
        answer = await _resolver(server).resolve("mx2.example.test", "A")
        assert [r.to_text() for r in answer] == ["127.0.0.3"]
