"""Tests for kernel.net.proxy: PROXY protocol v1/v2 header parsing and trust checks.

Valid headers are fed three ways (all at once, byte by byte, every split point) with
pipelined protocol bytes behind them (STYLE.md §1.10).
"""

from __future__ import annotations

import ast
import ipaddress
import itertools
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.net import proxy
from kernel.net.proxy import (
    MAX_V1_LENGTH,
    MAX_V2_LENGTH,
    ProxyHeader,
    ProxyHeaderReader,
    ProxyProtocolError,
    is_trusted,
)

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
PIPELINED = b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n"
V6_MAX = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"


def v2(block: bytes = b"", *, ver_cmd: int = 0x21, fam: int = 0x11, length: int | None = None):
    """A v2 header: signature, ver_cmd, fam, length (default: the block's), block."""
    size = len(block) if length is None else length
    return SIGNATURE + bytes([ver_cmd, fam]) + struct.pack("!H", size) + block


def inet(src: str, dst: str, sport: int, dport: int) -> bytes:
    packed = ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed
    return packed + struct.pack("!HH", sport, dport)


def tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!BH", kind, len(value)) + value


def chunkings(wire: bytes) -> list[list[bytes]]:
    """All at once, byte by byte, and every two-chunk split point."""
    ways = [[wire], [wire[i : i + 1] for i in range(len(wire))]]
    ways += [[wire[:i], wire[i:]] for i in range(1, len(wire))]
    return ways


def read(chunks: list[bytes]) -> tuple[ProxyHeader, bytes, int]:
    """Feed chunks until a header appears: (header, rest of the stream, bytes fed)."""
    reader = ProxyHeaderReader()
    fed = 0
    for index, chunk in enumerate(chunks):
        fed += len(chunk)
        header = reader.feed(chunk)
        if header is not None:
            return header, reader.remainder + b"".join(chunks[index + 1 :]), fed
    raise AssertionError("header never completed")


def assert_rejected(wire: bytes) -> None:
    """``wire`` raises ProxyProtocolError fed all at once and byte by byte."""
    with pytest.raises(ProxyProtocolError):
        ProxyHeaderReader().feed(wire)
    reader = ProxyHeaderReader()
    with pytest.raises(ProxyProtocolError):
        for i in range(len(wire)):
            assert reader.feed(wire[i : i + 1]) is None


VALID = {
    "v1-tcp4": (
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
        ProxyHeader(1, "PROXY", ("192.168.0.1", 56324), ("192.168.0.11", 443)),
    ),
    "v1-tcp4-port-zero": (
        b"PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
        ProxyHeader(1, "PROXY", ("0.0.0.0", 0), ("255.255.255.255", 65535)),
    ),
    "v1-tcp6": (
        b"PROXY TCP6 2001:DB8::1 2001:db8:0:0:0:0:0:2 1025 25\r\n",
        ProxyHeader(1, "PROXY", ("2001:db8::1", 1025), ("2001:db8::2", 25)),
    ),
    "v1-tcp6-longest": (
        f"PROXY TCP6 {V6_MAX} {V6_MAX} 65535 65535\r\n".encode(),
        ProxyHeader(1, "PROXY", (V6_MAX, 65535), (V6_MAX, 65535)),
    ),
    "v1-unknown": (b"PROXY UNKNOWN\r\n", ProxyHeader(1, "PROXY", None, None)),
    "v1-unknown-longest": (
        f"PROXY UNKNOWN {V6_MAX} {V6_MAX} 65535 65535\r\n".encode(),
        ProxyHeader(1, "PROXY", None, None),
    ),
    "v1-unknown-garbage": (
        b"PROXY UNKNOWN \x00\xff\r junk\r\n",
        ProxyHeader(1, "PROXY", None, None),
    ),
    "v2-inet": (
        v2(inet("192.168.0.1", "192.168.0.11", 56324, 443)),
        ProxyHeader(2, "PROXY", ("192.168.0.1", 56324), ("192.168.0.11", 443)),
    ),
    "v2-inet-udp": (
        v2(inet("10.0.0.1", "10.0.0.2", 53, 53), fam=0x12),
        ProxyHeader(2, "PROXY", ("10.0.0.1", 53), ("10.0.0.2", 53)),
    ),
    "v2-inet6": (
        v2(inet("2001:db8::1", "2001:db8::2", 1, 65535), fam=0x21),
        ProxyHeader(2, "PROXY", ("2001:db8::1", 1), ("2001:db8::2", 65535)),
    ),
    "v2-local": (v2(ver_cmd=0x20, fam=0x00), ProxyHeader(2, "LOCAL", None, None)),
    "v2-local-with-block": (
        # proxy-protocol §2.2: LOCAL discards the block, whatever the family says.
        v2(inet("10.0.0.1", "10.0.0.2", 1, 2) + b"\x01", ver_cmd=0x20, fam=0xFF),
        ProxyHeader(2, "LOCAL", None, None),
    ),
    "v2-unspec": (v2(fam=0x00), ProxyHeader(2, "PROXY", None, None)),
    "v2-unspec-with-block": (v2(b"\x00" * 7, fam=0x00), ProxyHeader(2, "PROXY", None, None)),
    "v2-inet-unspec-transport": (
        v2(inet("10.0.0.1", "10.0.0.2", 1, 2), fam=0x10),
        ProxyHeader(2, "PROXY", None, None),
    ),
    "v2-inet-tlvs": (
        v2(
            inet("10.0.0.1", "10.0.0.2", 40000, 993)
            + tlv(0x01, b"imap")
            + tlv(0x02, b"mail.example.org")
            + tlv(0x04, b"")
            + tlv(0x20, b"\x01\x00\x00\x00\x00" + tlv(0x21, b"TLSv1.3"))
        ),
        ProxyHeader(
            2,
            "PROXY",
            ("10.0.0.1", 40000),
            ("10.0.0.2", 993),
            (
                (0x01, b"imap"),
                (0x02, b"mail.example.org"),
                (0x04, b""),
                (0x20, b"\x01\x00\x00\x00\x00\x21\x00\x07TLSv1.3"),
            ),
        ),
    ),
    "v2-inet6-tlvs": (
        v2(inet("::1", "::ffff:10.0.0.1", 5, 6) + tlv(0x05, b"id-1"), fam=0x21),
        ProxyHeader(2, "PROXY", ("::1", 5), ("::ffff:a00:1", 6), ((0x05, b"id-1"),)),
    ),
    "v2-unix-tlvs": (
        v2(b"/run/a.sock".ljust(108, b"\x00") * 2 + tlv(0xE0, b"x"), fam=0x31),
        ProxyHeader(2, "PROXY", None, None, ((0xE0, b"x"),)),
    ),
}


@pytest.mark.parametrize(("wire", "expected"), VALID.values(), ids=VALID.keys())
def test_reader_parses_valid_header_every_chunking(wire: bytes, expected: ProxyHeader) -> None:
    for chunks in chunkings(wire + PIPELINED):
        header, rest, fed = read(chunks)
        assert header == expected
        assert rest == PIPELINED
        if len(chunks) > 2:  # byte by byte: complete on exactly the header's last byte
            assert fed == len(wire)


@pytest.mark.parametrize(("wire", "expected"), VALID.values(), ids=VALID.keys())
def test_reader_remainder_is_empty_without_pipelining(wire: bytes, expected: ProxyHeader) -> None:
    reader = ProxyHeaderReader()
    assert reader.feed(wire) == expected
    assert reader.remainder == b""


def test_reader_v1_longest_line_is_the_limit() -> None:
    assert len(VALID["v1-unknown-longest"][0]) == MAX_V1_LENGTH
    assert len(VALID["v1-tcp6-longest"][0]) == 104


def test_reader_returns_none_for_valid_prefixes() -> None:
    for prefix in (b"", b"P", b"PR", b"PROXY", b"PROXY ", b"PROXY TCP4 1.2.3.4", b"\r", SIGNATURE):
        assert ProxyHeaderReader().feed(prefix) is None, prefix
    assert ProxyHeaderReader().feed(v2(inet("10.0.0.1", "10.0.0.2", 1, 2))[:27]) is None


def test_reader_rejects_non_header_first_byte_immediately() -> None:
    for first in (b"G", b"p", b"\x16", b"\n", b"\x00", b"E"):
        with pytest.raises(ProxyProtocolError):
            ProxyHeaderReader().feed(first)


def test_reader_rejects_wrong_prefix_byte_by_byte() -> None:
    reader = ProxyHeaderReader()
    for byte in b"PROX":
        assert reader.feed(bytes([byte])) is None
    with pytest.raises(ProxyProtocolError):
        reader.feed(b"I")


def test_reader_error_is_sticky() -> None:
    reader = ProxyHeaderReader()
    with pytest.raises(ProxyProtocolError):
        reader.feed(b"GET / HTTP/1.1\r\n")
    with pytest.raises(ProxyProtocolError):
        reader.feed(b"PROXY UNKNOWN\r\n")


def test_reader_feed_after_header_raises_runtime_error() -> None:
    reader = ProxyHeaderReader()
    assert reader.feed(b"PROXY UNKNOWN\r\nQUIT") is not None
    with pytest.raises(RuntimeError):
        reader.feed(b"\r\n")
    assert reader.remainder == b"QUIT"


def test_reader_remainder_before_header_raises_runtime_error() -> None:
    reader = ProxyHeaderReader()
    assert reader.feed(b"PROXY ") is None
    with pytest.raises(RuntimeError):
        _ = reader.remainder


def test_reader_rejects_v1_overlong_line_without_waiting_for_crlf() -> None:
    reader = ProxyHeaderReader()
    assert reader.feed(b"PROXY UNKNOWN " + b"a" * (MAX_V1_LENGTH - 15)) is None
    with pytest.raises(ProxyProtocolError):
        reader.feed(b"a")


def test_reader_rejects_v2_oversized_length_from_fixed_part() -> None:
    with pytest.raises(ProxyProtocolError):
        ProxyHeaderReader().feed(v2(length=MAX_V2_LENGTH - 15))
    assert ProxyHeaderReader().feed(v2(length=MAX_V2_LENGTH - 16)) is None


def test_reader_rejects_v2_short_address_block_from_fixed_part() -> None:
    with pytest.raises(ProxyProtocolError):
        ProxyHeaderReader().feed(v2(length=11))


MALFORMED = {
    "http": b"GET / HTTP/1.1\r\n",
    "tls-hello": b"\x16\x03\x01\x02\x00",
    "lowercase-proxy": b"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
    "no-space-after-proxy": b"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n",
    "empty-protocol": b"PROXY \r\n",
    "lowercase-protocol": b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
    "unknown-protocol": b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
    "unknown-glued": b"PROXY UNKNOWNX\r\n",
    "double-space": b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
    "double-space-after-proxy": b"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
    "tab": b"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
    "trailing-space": b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
    "missing-port": b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
    "extra-field": b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
    "bare-lf": b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
    "bare-lf-unknown": b"PROXY UNKNOWN\n",
    "bare-cr": b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rEHLO x\r\n",
    "missing-crlf": b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2EHLO x\r\n",
    "overlong": b"PROXY UNKNOWN " + b"a" * 200 + b"\r\n",
    "overlong-by-one": b"PROXY UNKNOWN " + b"a" * (MAX_V1_LENGTH - 15) + b"\r\n",
    "ipv4-octet-256": b"PROXY TCP4 256.1.1.1 5.6.7.8 1 2\r\n",
    "ipv4-three-octets": b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
    "ipv4-leading-zero": b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
    "ipv4-non-ascii": b"PROXY TCP4 1.2.3.\xd9\xa4 5.6.7.8 1 2\r\n",
    "tcp4-with-ipv6": b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
    "tcp6-with-ipv4": b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
    "ipv6-zone-id": b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
    "ipv6-two-double-colons": b"PROXY TCP6 1::2::3 ::1 1 2\r\n",
    "port-65536": b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
    "port-leading-zero": b"PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n",
    "port-double-zero": b"PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n",
    "port-sign": b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
    "port-negative": b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
    "port-six-digits": b"PROXY TCP4 1.2.3.4 5.6.7.8 100000 2\r\n",
    "v2-bad-signature": b"\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x00",
    "v2-signature-crlf-crlf": b"\r\n\r\nHELO x\r\n",
    "v2-version-1": v2(inet("10.0.0.1", "10.0.0.2", 1, 2), ver_cmd=0x11),
    "v2-version-3": v2(inet("10.0.0.1", "10.0.0.2", 1, 2), ver_cmd=0x31),
    "v2-command-2": v2(inet("10.0.0.1", "10.0.0.2", 1, 2), ver_cmd=0x22),
    "v2-command-f": v2(ver_cmd=0x2F, fam=0x00),
    "v2-family-4": v2(inet("10.0.0.1", "10.0.0.2", 1, 2), fam=0x41),
    "v2-transport-3": v2(inet("10.0.0.1", "10.0.0.2", 1, 2), fam=0x13),
    "v2-inet-short-block": v2(inet("10.0.0.1", "10.0.0.2", 1, 2)[:8]),
    "v2-inet6-short-block": v2(inet("10.0.0.1", "10.0.0.2", 1, 2), fam=0x21),
    "v2-unix-short-block": v2(b"\x00" * 215, fam=0x31),
    "v2-oversized": v2(length=0xFFFF),
    "v2-tlv-truncated-header": v2(inet("10.0.0.1", "10.0.0.2", 1, 2) + b"\x01\x00"),
    "v2-tlv-truncated-value": v2(inet("10.0.0.1", "10.0.0.2", 1, 2) + b"\x01\x00\x05abcd"),
    "v2-tlv-after-good-tlv": v2(inet("10.0.0.1", "10.0.0.2", 1, 2) + tlv(1, b"h2") + b"\x02"),
}


@pytest.mark.parametrize("wire", MALFORMED.values(), ids=MALFORMED.keys())
def test_reader_rejects_malformed_header(wire: bytes) -> None:
    assert_rejected(wire)


@given(
    prefix=st.sampled_from([b"", b"PROXY ", b"PROXY TCP4 ", b"PROXY UNKNOWN", SIGNATURE]),
    body=st.binary(max_size=300),
    cuts=st.lists(st.integers(min_value=0, max_value=320), max_size=6),
)
def test_reader_arbitrary_bytes_only_raise_proxy_protocol_error(
    prefix: bytes, body: bytes, cuts: list[int]
) -> None:
    data = prefix + body
    bounds = [0, *sorted(min(cut, len(data)) for cut in cuts), len(data)]
    reader = ProxyHeaderReader()
    try:
        for start, end in itertools.pairwise(bounds):
            header = reader.feed(data[start:end])
            if header is not None:
                assert header.version in (1, 2)
                assert data.endswith(reader.remainder)
                return
    except ProxyProtocolError:
        return


@given(
    src=st.ip_addresses(),
    dst=st.ip_addresses(),
    sport=st.integers(0, 65535),
    dport=st.integers(0, 65535),
    tlvs=st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=40)), max_size=4),
)
def test_reader_roundtrips_generated_headers(
    src: ipaddress.IPv4Address | ipaddress.IPv6Address,
    dst: ipaddress.IPv4Address | ipaddress.IPv6Address,
    sport: int,
    dport: int,
    tlvs: list[tuple[int, bytes]],
) -> None:
    dst = ipaddress.ip_address(dst.packed[-4:] if src.version == 4 else dst.packed.rjust(16, b"\0"))
    expected_v1 = ProxyHeader(1, "PROXY", (str(src), sport), (str(dst), dport))
    v1_line = f"PROXY TCP{src.version} {src} {dst} {sport} {dport}\r\n".encode()
    assert ProxyHeaderReader().feed(v1_line) == expected_v1
    block = inet(str(src), str(dst), sport, dport) + b"".join(tlv(k, v) for k, v in tlvs)
    header = ProxyHeaderReader().feed(v2(block, fam=0x11 if src.version == 4 else 0x21))
    assert header == ProxyHeader(2, "PROXY", expected_v1.source, expected_v1.destination, (*tlvs,))


NETWORKS = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]


def test_is_trusted_ipv4() -> None:
    assert is_trusted("10.1.2.3", NETWORKS)


def test_is_trusted_ipv6() -> None:
    assert is_trusted("2001:db8:1::5", NETWORKS)


def test_is_trusted_ipv4_mapped_ipv6() -> None:
    assert is_trusted("::ffff:10.0.0.1", NETWORKS)
    assert is_trusted("::ffff:a00:1", NETWORKS)
    assert not is_trusted("::ffff:192.168.0.1", NETWORKS)


def test_is_trusted_rejects_outside_addresses() -> None:
    assert not is_trusted("192.168.0.1", NETWORKS)
    assert not is_trusted("2001:db9::1", NETWORKS)
    assert not is_trusted("::1", NETWORKS)
    assert not is_trusted("10.0.0.1", [])
    assert not is_trusted("10.0.0.1", [ipaddress.ip_network("::/0")])


def test_is_trusted_invalid_address_raises_value_error() -> None:
    with pytest.raises(ValueError):
        is_trusted("not-an-address", NETWORKS)


def test_proxy_module_does_not_import_trio() -> None:
    tree = ast.parse(Path(proxy.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name == "trio" or name.startswith("trio.") for name in imported)
