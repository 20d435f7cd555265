"""PROXY protocol header parser (versions 1 and 2), sans-IO.

A load balancer in front of an SMTP, IMAP or HTTP listener prepends one PROXY header to
each connection, carrying the client's real source and destination addresses. The
listener feeds the first bytes it reads into a :class:`ProxyHeaderReader` until a
:class:`ProxyHeader` comes out, then hands :attr:`ProxyHeaderReader.remainder` (bytes the
client pipelined behind the header) to the protocol engine. Whether the peer may send a
header at all is the caller's decision, made with :func:`is_trusted` before reading.

Implementation notes:

- No I/O, clocks or trio here (STYLE.md §1.4): the driver owns the socket and the
  timeout (the spec suggests at least 3 seconds), this module owns the grammar and the
  limits.
- Fail fast. The version is detected byte by byte: every prefix that can no longer
  become ``"PROXY "`` or the 12-byte v2 signature is rejected at once, so a client that
  speaks SMTP or TLS to a PROXY listener is dropped on its first byte. A v1 line without
  CRLF in its first :data:`MAX_V1_LENGTH` bytes and a v2 length above
  :data:`MAX_V2_LENGTH`, or too short for the announced address family, are rejected as
  soon as they are known, before the rest arrives.
- :data:`MAX_V2_LENGTH` is ``16 + 4096``, not the wire maximum ``16 + 65535``: the
  registered TLVs (ALPN, authority, CRC32C, unique ID of up to 128 bytes, SSL details,
  network namespace, the cloud vendors' endpoint IDs) add up to a few hundred bytes, and
  the cap bounds what an unauthenticated peer can make us buffer.
- Addresses come back in ``ipaddress``'s canonical text form (``2001:db8::1``,
  ``::ffff:102:304``), so equal addresses compare equal whatever the sender wrote.
- "Use the real connection addresses" is ``source is None and destination is None``:
  v1 ``UNKNOWN``, v2 ``LOCAL``, v2 ``AF_UNSPEC`` or ``UNSPEC`` transport, and v2
  ``AF_UNIX`` (a socket path means nothing to a remote-address check).
- TLVs are returned raw as ``(type, value)`` pairs in wire order; nested SSL sub-TLVs
  stay inside their parent's value. TLVs are parsed for the INET, INET6 and UNIX
  families only: for LOCAL the spec says to discard the whole block, and for UNSPEC the
  address part has no known length, so the TLVs cannot be located.
- Liberties: v1 ``TCP6`` accepts whatever :class:`ipaddress.IPv6Address` accepts except
  zone IDs (``%eth0``), so the dotted-quad tail (``::ffff:1.2.3.4``) that ``inet_pton``
  also takes is allowed. The v2 ``DGRAM`` transport is accepted like ``STREAM``; the
  header does not report which one it was.
- ``PP2_TYPE_CRC32C`` is returned but not verified; the spec makes checking optional.

Theory of operation: the reader is in one of four states. *Detect*: fewer bytes than
the v1 prefix or v2 signature, each checked against both. *v1* / *v2*: accumulating until
CRLF or ``16 + len`` bytes. *Done*: the header and remainder are fixed, and feeding
again is a caller bug (``RuntimeError``). *Failed*: a :class:`ProxyProtocolError` was
raised, and every later ``feed()`` raises it again; the caller must close the connection.

Spec: HAProxy Technologies, "The PROXY protocol, Versions 1 & 2" (W. Tarreau, revision
2020/03/05), doc/proxy-protocol.txt in https://github.com/haproxy/haproxy; §2.1 is the
text format, §2.2 the binary format and its TLVs. Comments cite it as
``proxy-protocol §<section>``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, final

__all__ = [
    "MAX_V1_LENGTH",
    "MAX_V2_LENGTH",
    "ProxyHeader",
    "ProxyHeaderReader",
    "ProxyProtocolError",
    "is_trusted",
]

# proxy-protocol §2.1: the longest line, "PROXY UNKNOWN <ipv6> <ipv6> 65535 65535\r\n",
# is 107 bytes including the CRLF; no CRLF in the first 107 bytes means invalid.
MAX_V1_LENGTH: Final = 107
#: Largest v2 header accepted: 16 fixed bytes plus a 4096-byte address and TLV block.
MAX_V2_LENGTH: Final = 16 + 4096

_V1_PREFIX: Final = b"PROXY "
# proxy-protocol §2.2: the 12-byte binary signature, with a NUL at the 5th position.
_V2_SIGNATURE: Final = b"\r\n\r\n\x00\r\nQUIT\n"
_V2_FIXED_LENGTH: Final = 16

_CMD_LOCAL: Final = 0x0
_CMD_PROXY: Final = 0x1
_AF_UNSPEC: Final = 0x0
_AF_INET: Final = 0x1
_AF_INET6: Final = 0x2
_AF_UNIX: Final = 0x3
_TRANSPORT_UNSPEC: Final = 0x0
_TRANSPORT_DGRAM: Final = 0x2
# proxy-protocol §2.2 union proxy_addr: two addresses plus two ports (none for UNIX).
_ADDRESS_BLOCK_LENGTHS: Final = {_AF_INET: 12, _AF_INET6: 36, _AF_UNIX: 216}

# proxy-protocol §2.1: a decimal port in [0..65535] without heading zeroes.
_V1_PORT: Final = re.compile(rb"0|[1-9][0-9]{0,4}")


@final
class ProxyProtocolError(ValueError):
    """Malformed or oversized PROXY header."""


@final
@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """One decoded PROXY header.

    ``source`` and ``destination`` are ``(ip, port)`` pairs, or both None when the caller
    must use the real connection's addresses (v1 UNKNOWN, v2 LOCAL, UNSPEC or UNIX).
    ``tlvs`` holds the v2 type-length-value extensions as ``(type, value)`` pairs in wire
    order; it is always empty for v1.
    """

    version: int
    command: str
    source: tuple[str, int] | None
    destination: tuple[str, int] | None
    tlvs: tuple[tuple[int, bytes], ...] = ()


@final
class ProxyHeaderReader:
    """Feed bytes until a complete header is available.

    One reader serves one connection. Call :meth:`feed` with each chunk read from the
    socket until it returns a :class:`ProxyHeader`, then read :attr:`remainder` for the
    bytes that followed the header in the last chunk.

    Error handling: :meth:`feed` raises :class:`ProxyProtocolError` as soon as the bytes
    cannot start a valid header, and again on every later call. Calling :meth:`feed`
    after the header was returned, or reading :attr:`remainder` before, raises
    ``RuntimeError``: both are caller bugs, not peer behaviour.
    """

    __slots__ = ("_buffer", "_error", "_header", "_remainder")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._header: ProxyHeader | None = None
        self._remainder = b""
        self._error: str | None = None

    def feed(self, data: bytes) -> ProxyHeader | None:
        """Append ``data`` and try to complete the header.

        Args:
            data: The next bytes read from the connection; may be empty.

        Returns:
            The header once complete, otherwise None (more bytes are needed).

        Raises:
            ProxyProtocolError: The bytes so far cannot be a valid header (or an earlier
                call already failed).
            RuntimeError: A header was already returned.
        """
        if self._header is not None:
            raise RuntimeError("PROXY header already complete; pass later bytes to the protocol")
        if self._error is not None:
            raise ProxyProtocolError(self._error)
        self._buffer += data
        try:
            parsed = _parse(self._buffer)
        except ProxyProtocolError as exc:
            self._error = str(exc)
            self._buffer.clear()
            raise
        if parsed is None:
            return None
        self._header, end = parsed
        self._remainder = bytes(self._buffer[end:])
        self._buffer.clear()
        return self._header

    @property
    def remainder(self) -> bytes:
        """Bytes received after the header: protocol data the client pipelined.

        Raises:
            RuntimeError: :meth:`feed` has not returned a header yet.
        """
        if self._header is None:
            raise RuntimeError("PROXY header not complete yet")
        return self._remainder


def is_trusted(
    address: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    """True if the IP ``address`` is inside one of ``networks``.

    ``address`` may be IPv4, IPv6, or IPv4-mapped IPv6 like ``::ffff:10.0.0.1`` (what a
    dual-stack socket reports for an IPv4 peer); a mapped address is checked both as
    itself and as the IPv4 address it maps, so ``10.0.0.0/8`` trusts ``::ffff:10.0.0.1``.
    A network of the other IP version never matches.

    Raises:
        ValueError: ``address`` is not an IP address literal.
    """
    ip = ipaddress.ip_address(address)
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(candidate in network for network in networks for candidate in candidates)


def _parse(buffer: bytearray) -> tuple[ProxyHeader, int] | None:
    """Return the header and its length in ``buffer``, or None if incomplete."""
    if not buffer:
        return None
    # proxy-protocol §2.2: v1 starts with "PROXY", v2 with the signature; anything else
    # "is not covered by this specification and the connection must be dropped".
    if buffer[0] == _V1_PREFIX[0]:
        return _parse_v1(buffer) if _has_prefix(buffer, _V1_PREFIX, "v1 prefix") else None
    if buffer[0] == _V2_SIGNATURE[0]:
        return _parse_v2(buffer) if _has_prefix(buffer, _V2_SIGNATURE, "v2 signature") else None
    raise ProxyProtocolError(f"not a PROXY header: starts with {bytes(buffer[:1])!r}")


def _has_prefix(buffer: bytearray, prefix: bytes, what: str) -> bool:
    """True if ``buffer`` holds all of ``prefix``; raise if it cannot become it."""
    n = min(len(buffer), len(prefix))
    if buffer[:n] != prefix[:n]:
        raise ProxyProtocolError(f"bad {what}: {bytes(buffer[:n])!r}")
    return n == len(prefix)


# proxy-protocol §2.1, as a grammar (exactly one space between fields):
#   line    = "PROXY" SP ( tcp / unknown ) CRLF
#   tcp     = ( "TCP4" / "TCP6" ) SP src-ip SP dst-ip SP src-port SP dst-port
#   unknown = "UNKNOWN" [ SP *(any byte but LF) ]
#   port    = "0" / %x31-39 0*4DIGIT          ; at most 65535
def _parse_v1(buffer: bytearray) -> tuple[ProxyHeader, int] | None:
    end = buffer.find(b"\n", 0, MAX_V1_LENGTH)
    if end == -1:
        if len(buffer) >= MAX_V1_LENGTH:
            raise ProxyProtocolError(f"v1 header: no CRLF in the first {MAX_V1_LENGTH} bytes")
        return None
    # proxy-protocol §2.1: a single CR or LF must not be tolerated as the line end.
    if buffer[end - 1] != 0x0D:
        raise ProxyProtocolError("v1 header: line ends with a bare LF")
    return _decode_v1(bytes(buffer[len(_V1_PREFIX) : end - 1])), end + 1


def _decode_v1(line: bytes) -> ProxyHeader:
    """Decode the v1 line between ``"PROXY "`` and the CRLF."""
    # proxy-protocol §2.1: for UNKNOWN the receiver must ignore anything before the CRLF
    # and use the real connection's parameters.
    if line == b"UNKNOWN" or line.startswith(b"UNKNOWN "):
        return ProxyHeader(version=1, command="PROXY", source=None, destination=None)
    fields = line.split(b" ")
    if fields[0] not in (b"TCP4", b"TCP6"):
        raise ProxyProtocolError(f"v1 header: unknown protocol {fields[0]!r}")
    if len(fields) != 5:
        raise ProxyProtocolError("v1 header: expected 4 fields after the protocol, single-spaced")
    protocol, src_ip, dst_ip, src_port, dst_port = fields
    ip_version = 4 if protocol == b"TCP4" else 6
    return ProxyHeader(
        version=1,
        command="PROXY",
        source=(_v1_address(src_ip, ip_version), _v1_port(src_port)),
        destination=(_v1_address(dst_ip, ip_version), _v1_port(dst_port)),
    )


def _v1_address(raw: bytes, ip_version: int) -> str:
    # proxy-protocol §2.1: the address is in canonical form, of the announced family;
    # IPv4 without heading zeroes (ipaddress rejects those), IPv6 without a zone ID.
    try:
        text = raw.decode("ascii")
        if "%" in text:
            raise ValueError("zone IDs are not allowed")
        if ip_version == 4:
            return str(ipaddress.IPv4Address(text))
        return str(ipaddress.IPv6Address(text))
    except ValueError as exc:  # includes UnicodeDecodeError and AddressValueError
        raise ProxyProtocolError(f"v1 header: bad IPv{ip_version} address {raw!r}") from exc


def _v1_port(raw: bytes) -> int:
    if _V1_PORT.fullmatch(raw) is None or int(raw) > 0xFFFF:
        raise ProxyProtocolError(f"v1 header: bad port {raw!r}")
    return int(raw)


def _parse_v2(buffer: bytearray) -> tuple[ProxyHeader, int] | None:
    if len(buffer) < 13:
        return None
    # proxy-protocol §2.2: the high nibble of byte 13 is the version, which must be 2;
    # the low nibble is the command, and unassigned values must be dropped.
    version, command = buffer[12] >> 4, buffer[12] & 0x0F
    if version != 2:
        raise ProxyProtocolError(f"v2 header: unsupported version {version}")
    if command not in (_CMD_LOCAL, _CMD_PROXY):
        raise ProxyProtocolError(f"v2 header: unassigned command {command}")
    if len(buffer) < 14:
        return None
    family, transport = buffer[13] >> 4, buffer[13] & 0x0F
    # proxy-protocol §2.2: LOCAL ignores the family; otherwise unspecified families and
    # transports "must be rejected as invalid by receivers".
    if command == _CMD_PROXY and (family > _AF_UNIX or transport > _TRANSPORT_DGRAM):
        raise ProxyProtocolError(f"v2 header: unassigned family/transport {buffer[13]:#04x}")
    if len(buffer) < _V2_FIXED_LENGTH:
        return None
    length = int.from_bytes(buffer[14:16], "big")
    total = _V2_FIXED_LENGTH + length
    if total > MAX_V2_LENGTH:
        raise ProxyProtocolError(f"v2 header: {total} bytes exceeds the {MAX_V2_LENGTH} limit")
    has_addresses = (
        command == _CMD_PROXY and family != _AF_UNSPEC and transport != _TRANSPORT_UNSPEC
    )
    if has_addresses and length < _ADDRESS_BLOCK_LENGTHS[family]:
        raise ProxyProtocolError(
            f"v2 header: length {length} is shorter than the family's address block"
        )
    if len(buffer) < total:
        return None
    if not has_addresses:
        # proxy-protocol §2.2: LOCAL and UNSPEC mean "use the real connection endpoints";
        # the length field still says how many bytes to skip.
        name = "PROXY" if command == _CMD_PROXY else "LOCAL"
        return ProxyHeader(version=2, command=name, source=None, destination=None), total
    return _decode_v2(family, bytes(buffer[_V2_FIXED_LENGTH:total])), total


def _decode_v2(family: int, block: bytes) -> ProxyHeader:
    """Decode a PROXY command's address block and TLVs."""
    source: tuple[str, int] | None = None
    destination: tuple[str, int] | None = None
    if family in (_AF_INET, _AF_INET6):
        # proxy-protocol §2.2: source address, destination address, source port,
        # destination port, all in network byte order.
        size = 4 if family == _AF_INET else 16
        ports = 2 * size
        src_ip = ipaddress.ip_address(block[:size])
        dst_ip = ipaddress.ip_address(block[size:ports])
        source = (str(src_ip), int.from_bytes(block[ports : ports + 2], "big"))
        destination = (str(dst_ip), int.from_bytes(block[ports + 2 : ports + 4], "big"))
    tlvs = _parse_tlvs(block[_ADDRESS_BLOCK_LENGTHS[family] :])
    return ProxyHeader(
        version=2, command="PROXY", source=source, destination=destination, tlvs=tlvs
    )


def _parse_tlvs(data: bytes) -> tuple[tuple[int, bytes], ...]:
    # proxy-protocol §2.2: struct pp2_tlv { uint8_t type; uint8_t length_hi;
    # uint8_t length_lo; uint8_t value[0]; }, repeated up to the header's end.
    tlvs: list[tuple[int, bytes]] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < 3:
            raise ProxyProtocolError("v2 header: truncated TLV header")
        start = offset + 3
        end = start + int.from_bytes(data[offset + 1 : start], "big")
        if end > len(data):
            raise ProxyProtocolError(f"v2 header: TLV type {data[offset]:#04x} is truncated")
        tlvs.append((data[offset], data[start:end]))
        offset = end
    return tuple(tlvs)
