"""Tests for kernel.net.tls: real handshakes in-process over trio memory streams."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import stat
from pathlib import Path

import pytest
import trio
import trio.testing
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kernel.errors import KernelError
from kernel.net.tls import (
    CertificateSpec,
    TLSConfigError,
    build_server_context,
    certificate_names,
    generate_self_signed,
)

HANDSHAKE_TIMEOUT = 10


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def _spec(
    ca: trustme.CA, name: str, *hostnames: str, names: tuple[str, ...] = ()
) -> CertificateSpec:
    cert = ca.issue_cert(*hostnames)
    return CertificateSpec(
        name=name,
        cert_pem="".join(blob.bytes().decode() for blob in cert.cert_chain_pems),
        key_pem=cert.private_key_pem.bytes().decode(),
        names=names,
    )


def _client_context(ca: trustme.CA, *, check_hostname: bool = True) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = check_hostname
    ca.configure_trust(ctx)
    return ctx


async def _handshake(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, server_hostname: str | None
) -> tuple[trio.SSLStream, trio.SSLStream, dict[str, BaseException]]:
    """Run both sides of a handshake; return the streams and each side's failure, if any."""
    server_transport, client_transport = trio.testing.memory_stream_pair()
    server = trio.SSLStream(server_transport, server_ctx, server_side=True)
    client = trio.SSLStream(client_transport, client_ctx, server_hostname=server_hostname)
    failures: dict[str, BaseException] = {}

    async def run(side: str, stream: trio.SSLStream) -> None:
        try:
            await stream.do_handshake()
        except trio.BrokenResourceError as exc:
            failures[side] = exc
            # Let the peer see EOF instead of waiting for bytes that will never come.
            await trio.aclose_forcefully(stream.transport_stream)

    with trio.fail_after(HANDSHAKE_TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, "server", server)
            nursery.start_soon(run, "client", client)
    return server, client, failures


async def _peer_dns_names(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, server_hostname: str | None
) -> list[str]:
    _server, client, failures = await _handshake(server_ctx, client_ctx, server_hostname)
    assert not failures
    peer = client.getpeercert()
    assert peer is not None
    return [value for kind, value in peer["subjectAltName"] if kind == "DNS"]


def _cn_only_cert(common_name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# --- certificate_names --------------------------------------------------------------------------


def test_certificate_names_returns_san_dns_names_lowercased(ca: trustme.CA) -> None:
    spec = _spec(ca, "multi", "Mail.Example.org", "*.example.net", "127.0.0.1")
    assert certificate_names(spec.cert_pem) == ["mail.example.org", "*.example.net"]


def test_certificate_names_falls_back_to_common_name() -> None:
    assert certificate_names(_cn_only_cert("Legacy.Example.org")) == ["legacy.example.org"]


def test_certificate_names_rejects_garbage() -> None:
    with pytest.raises(TLSConfigError):
        certificate_names("not a certificate")


# --- build_server_context: SNI ------------------------------------------------------------------


async def test_build_server_context_sni_selects_certificate_per_name(ca: trustme.CA) -> None:
    server_ctx = build_server_context(
        [_spec(ca, "mail", "mail.example.org"), _spec(ca, "dav", "dav.example.net")]
    )
    client_ctx = _client_context(ca)
    assert await _peer_dns_names(server_ctx, client_ctx, "mail.example.org") == ["mail.example.org"]
    assert await _peer_dns_names(server_ctx, client_ctx, "dav.example.net") == ["dav.example.net"]


async def test_build_server_context_sni_is_case_insensitive(ca: trustme.CA) -> None:
    server_ctx = build_server_context(
        [_spec(ca, "mail", "mail.example.org"), _spec(ca, "dav", "dav.example.net")]
    )
    client_ctx = _client_context(ca)
    assert await _peer_dns_names(server_ctx, client_ctx, "DAV.Example.NET") == ["dav.example.net"]


async def test_build_server_context_sni_uses_configured_names(ca: trustme.CA) -> None:
    # The configured names replace the certificate's own for selection.
    server_ctx = build_server_context(
        [
            _spec(ca, "default", "default.example.org"),
            _spec(ca, "other", "other.example.org", names=("Alias.Example.org",)),
        ]
    )
    client_ctx = _client_context(ca, check_hostname=False)
    assert await _peer_dns_names(server_ctx, client_ctx, "alias.example.org") == [
        "other.example.org"
    ]
    assert await _peer_dns_names(server_ctx, client_ctx, "other.example.org") == [
        "default.example.org"
    ]


async def test_build_server_context_sni_wildcard_matches_one_label(ca: trustme.CA) -> None:
    server_ctx = build_server_context(
        [_spec(ca, "default", "default.example.net"), _spec(ca, "wild", "*.example.org")]
    )
    client_ctx = _client_context(ca)
    assert await _peer_dns_names(server_ctx, client_ctx, "mail.example.org") == ["*.example.org"]


@pytest.mark.parametrize("server_name", ["a.b.example.org", "example.org"])
async def test_build_server_context_sni_wildcard_does_not_match_other_depths(
    ca: trustme.CA, server_name: str
) -> None:
    server_ctx = build_server_context(
        [_spec(ca, "default", "default.example.net"), _spec(ca, "wild", "*.example.org")]
    )
    client_ctx = _client_context(ca, check_hostname=False)
    assert await _peer_dns_names(server_ctx, client_ctx, server_name) == ["default.example.net"]


async def test_build_server_context_sni_exact_name_beats_wildcard(ca: trustme.CA) -> None:
    server_ctx = build_server_context(
        [_spec(ca, "wild", "*.example.org"), _spec(ca, "mail", "mail.example.org")]
    )
    client_ctx = _client_context(ca)
    assert await _peer_dns_names(server_ctx, client_ctx, "mail.example.org") == ["mail.example.org"]
    assert await _peer_dns_names(server_ctx, client_ctx, "imap.example.org") == ["*.example.org"]


@pytest.mark.parametrize("server_name", ["unknown.example.com", None])
async def test_build_server_context_sni_unknown_or_absent_name_gets_default(
    ca: trustme.CA, server_name: str | None
) -> None:
    server_ctx = build_server_context(
        [_spec(ca, "first", "first.example.org"), _spec(ca, "second", "second.example.org")]
    )
    client_ctx = _client_context(ca, check_hostname=False)
    assert await _peer_dns_names(server_ctx, client_ctx, server_name) == ["first.example.org"]


async def test_build_server_context_alpn_survives_sni_switch(ca: trustme.CA) -> None:
    server_ctx = build_server_context(
        [_spec(ca, "first", "first.example.org"), _spec(ca, "second", "second.example.org")],
        alpn=("h2", "http/1.1"),
    )
    client_ctx = _client_context(ca)
    client_ctx.set_alpn_protocols(["http/1.1"])
    for host in ("first.example.org", "second.example.org"):
        _server, client, failures = await _handshake(server_ctx, client_ctx, host)
        assert not failures
        assert client.selected_alpn_protocol() == "http/1.1"


# --- build_server_context: versions, ciphers, options -------------------------------------------


async def test_build_server_context_min_version_13_refuses_tls12_client(ca: trustme.CA) -> None:
    server_ctx = build_server_context([_spec(ca, "mail", "mail.example.org")], min_version="1.3")
    client_ctx = _client_context(ca)
    client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    _server, _client, failures = await _handshake(server_ctx, client_ctx, "mail.example.org")
    assert set(failures) == {"server", "client"}
    cause = failures["server"].__cause__
    assert isinstance(cause, ssl.SSLError)
    assert cause.reason == "UNSUPPORTED_PROTOCOL"


async def test_build_server_context_min_version_13_accepts_tls13_client(ca: trustme.CA) -> None:
    server_ctx = build_server_context([_spec(ca, "mail", "mail.example.org")], min_version="1.3")
    _server, client, failures = await _handshake(
        server_ctx, _client_context(ca), "mail.example.org"
    )
    assert not failures
    assert client.version() == "TLSv1.3"


async def test_build_server_context_default_accepts_tls12_client(ca: trustme.CA) -> None:
    server_ctx = build_server_context([_spec(ca, "mail", "mail.example.org")])
    client_ctx = _client_context(ca)
    client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    _server, client, failures = await _handshake(server_ctx, client_ctx, "mail.example.org")
    assert not failures
    assert client.version() == "TLSv1.2"
    cipher = client.cipher()
    assert cipher is not None
    assert cipher[0].startswith("ECDHE-")


def test_build_server_context_default_ciphers_are_ecdhe_aead(ca: trustme.CA) -> None:
    ctx = build_server_context([_spec(ca, "mail", "mail.example.org")])
    tls12 = [c for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12
    for cipher in tls12:
        assert cipher["kea"] == "kx-ecdhe", cipher["name"]
        assert cipher["aead"], cipher["name"]


def test_build_server_context_sets_hardening_options(ca: trustme.CA) -> None:
    ctx = build_server_context([_spec(ca, "mail", "mail.example.org")])
    for option in (
        ssl.OP_NO_COMPRESSION,
        ssl.OP_NO_RENEGOTIATION,
        ssl.OP_CIPHER_SERVER_PREFERENCE,
    ):
        assert ctx.options & option == option
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


def test_build_server_context_accepts_custom_ciphers(ca: trustme.CA) -> None:
    ctx = build_server_context([_spec(ca, "mail", "mail.example.org")], ciphers="ECDHE+CHACHA20")
    tls12 = [c["name"] for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12
    assert all("CHACHA20" in name for name in tls12)


@pytest.mark.parametrize("ciphers", ["NO-SUCH-CIPHER", ""])
def test_build_server_context_rejects_bad_cipher_string(ca: trustme.CA, ciphers: str) -> None:
    with pytest.raises(TLSConfigError, match="cipher"):
        build_server_context([_spec(ca, "mail", "mail.example.org")], ciphers=ciphers)


@pytest.mark.parametrize("version", ["1.1", "1.0", "TLSv1.2", ""])
def test_build_server_context_rejects_bad_min_version(ca: trustme.CA, version: str) -> None:
    with pytest.raises(TLSConfigError, match="min_version"):
        build_server_context([_spec(ca, "mail", "mail.example.org")], min_version=version)


def test_build_server_context_rejects_empty_certificate_list() -> None:
    with pytest.raises(TLSConfigError, match="no certificates"):
        build_server_context([])


# --- build_server_context: unusable certificates ------------------------------------------------


def test_build_server_context_mismatched_key_names_entry(ca: trustme.CA) -> None:
    good = _spec(ca, "good", "good.example.org")
    other = _spec(ca, "other", "other.example.org")
    broken = CertificateSpec("smtp-cert", good.cert_pem, other.key_pem)
    with pytest.raises(TLSConfigError, match=r"'smtp-cert'.*does not match"):
        build_server_context([good, broken])


@pytest.mark.parametrize("field", ["cert_pem", "key_pem"])
def test_build_server_context_garbage_pem_names_entry(ca: trustme.CA, field: str) -> None:
    good = _spec(ca, "good", "good.example.org")
    garbage = "-----BEGIN GARBAGE-----\nbm90IGEgY2VydA==\n-----END GARBAGE-----\n"
    fields = {"cert_pem": good.cert_pem, "key_pem": good.key_pem, field: garbage}
    with pytest.raises(TLSConfigError, match="'broken'"):
        build_server_context([CertificateSpec("broken", **fields)])


def test_build_server_context_encrypted_key_names_entry(ca: trustme.CA) -> None:
    good = _spec(ca, "good", "good.example.org")
    key = serialization.load_pem_private_key(good.key_pem.encode(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    ).decode()
    with pytest.raises(TLSConfigError, match=r"'locked'.*encrypted"):
        build_server_context([CertificateSpec("locked", good.cert_pem, encrypted)])


@pytest.mark.parametrize("name", ["", "*", "a.*.example.org", "m*.example.org", "a..b"])
def test_build_server_context_rejects_bad_configured_name(ca: trustme.CA, name: str) -> None:
    spec = _spec(ca, "named", "mail.example.org", names=(name,))
    with pytest.raises(TLSConfigError, match=r"'named'.*invalid server name"):
        build_server_context([spec])


def test_tls_config_error_is_value_and_kernel_error() -> None:
    assert issubclass(TLSConfigError, ValueError)
    assert issubclass(TLSConfigError, KernelError)


# --- generate_self_signed -----------------------------------------------------------------------


def test_generate_self_signed_creates_private_files(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    spec = generate_self_signed(directory, ["localhost"])
    assert spec.name == "self-signed"
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(directory / "selfsigned.key").st_mode) == 0o600
    assert (directory / "selfsigned.crt").read_text() == spec.cert_pem
    assert (directory / "selfsigned.key").read_text() == spec.key_pem
    assert sorted(os.listdir(directory)) == ["selfsigned.crt", "selfsigned.key"]


def test_generate_self_signed_certificate_profile(tmp_path: Path) -> None:
    spec = generate_self_signed(tmp_path, ["Mail.Example.org", "127.0.0.1", "::1"])
    cert = x509.load_pem_x509_certificate(spec.cert_pem.encode())
    key = serialization.load_pem_private_key(spec.key_pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    validity = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=825) <= validity <= datetime.timedelta(days=826)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mail.example.org"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]


def test_generate_self_signed_reuses_existing_pair(tmp_path: Path) -> None:
    first = generate_self_signed(tmp_path, ["localhost", "mail.example.org"])
    before = (tmp_path / "selfsigned.crt").read_bytes(), (tmp_path / "selfsigned.key").read_bytes()
    second = generate_self_signed(tmp_path, ["MAIL.example.org"])
    after = (tmp_path / "selfsigned.crt").read_bytes(), (tmp_path / "selfsigned.key").read_bytes()
    assert second == first
    assert after == before


def test_generate_self_signed_regenerates_for_new_hostname(tmp_path: Path) -> None:
    first = generate_self_signed(tmp_path, ["localhost"])
    second = generate_self_signed(tmp_path, ["localhost", "mail.example.org"])
    assert second.cert_pem != first.cert_pem
    assert second.key_pem != first.key_pem
    assert certificate_names(second.cert_pem) == ["localhost", "mail.example.org"]
    assert (tmp_path / "selfsigned.crt").read_text() == second.cert_pem
    assert stat.S_IMODE(os.stat(tmp_path / "selfsigned.key").st_mode) == 0o600


def test_generate_self_signed_regenerates_when_expiring(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=800))
        .not_valid_after(now + datetime.timedelta(days=10))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    old_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (tmp_path / "selfsigned.crt").write_text(old_pem)
    (tmp_path / "selfsigned.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    spec = generate_self_signed(tmp_path, ["localhost"])
    assert spec.cert_pem != old_pem
    new = x509.load_pem_x509_certificate(spec.cert_pem.encode())
    assert new.not_valid_after_utc - now > datetime.timedelta(days=800)


@pytest.mark.parametrize("damaged", ["selfsigned.crt", "selfsigned.key"])
def test_generate_self_signed_regenerates_damaged_files(tmp_path: Path, damaged: str) -> None:
    first = generate_self_signed(tmp_path, ["localhost"])
    (tmp_path / damaged).write_bytes(b"\xffgarbage")
    second = generate_self_signed(tmp_path, ["localhost"])
    assert second.cert_pem != first.cert_pem
    build_server_context([second])


def test_generate_self_signed_rejects_no_hostnames(tmp_path: Path) -> None:
    with pytest.raises(TLSConfigError):
        generate_self_signed(tmp_path, [])


@pytest.mark.parametrize("server_hostname", ["localhost", "127.0.0.1"])
async def test_generate_self_signed_handshake_with_pinning_client(
    tmp_path: Path, server_hostname: str
) -> None:
    spec = generate_self_signed(tmp_path, ["localhost", "127.0.0.1"])
    client_ctx = ssl.create_default_context()
    client_ctx.load_verify_locations(cadata=spec.cert_pem)
    _server, client, failures = await _handshake(
        build_server_context([spec]), client_ctx, server_hostname
    )
    assert not failures
    assert client.getpeercert() is not None
