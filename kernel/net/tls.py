"""Server-side TLS: certificate sets, SNI selection and the first-start self-signed certificate.

Every listener that terminates TLS (SMTP, IMAP, POP3, HTTP...) gets its ``ssl.SSLContext`` from
:func:`build_server_context`, built from the configured :class:`CertificateSpec` entries. When
nothing is configured, :func:`generate_self_signed` provides a certificate so a fresh install
can start.

Implementation notes:

- One ``SSLContext`` per certificate, all with identical options. The first certificate's
  context is the one handed to listeners; its ``sni_callback`` swaps the connection over to
  another certificate's context when the requested server name matches one of its names.
  The callback never raises (an exception there aborts the handshake with an unhelpful
  alert); an unknown or absent name keeps the default certificate.
- Name matching: exact names first, then single-label wildcards (``*.example.org`` matches
  ``mail.example.org``, never ``a.b.example.org`` nor ``example.org``), case-insensitive, with
  IDNs compared as A-labels, the form the ``ssl`` module hands to the callback. On overlaps
  the earlier certificate wins.
- ``SSLContext.load_cert_chain`` only reads files, so the PEM text goes to a private
  temporary directory (``mkdtemp``: mode 0700; files 0600) for the load, removed right after.
  Before that, the PEM is parsed with ``cryptography`` so errors can say what is wrong (no
  certificate, encrypted key, key of another certificate) and name the entry. The password
  callback refuses, so an encrypted key can never make OpenSSL prompt on the terminal.
- Everything here is synchronous and blocking (file I/O): call it at start-up, or through
  ``trio.to_thread.run_sync`` when a reload rebuilds contexts (STYLE.md §1.5).
- Ciphers only apply to TLS 1.2; the TLS 1.3 suites are OpenSSL's (all AEAD). The default
  list is ECDHE with AES-GCM or ChaCha20-Poly1305: forward secrecy, no RSA key exchange, no
  CBC.
- ``generate_self_signed`` writes the key before the certificate; if it dies in between, the
  next start finds a key that does not match and regenerates both.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kernel.errors import KernelError

__all__ = [
    "CertificateSpec",
    "TLSConfigError",
    "build_server_context",
    "certificate_names",
    "generate_self_signed",
]

DEFAULT_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"
_MIN_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
_SELF_SIGNED_CERT = "selfsigned.crt"
_SELF_SIGNED_KEY = "selfsigned.key"
_SELF_SIGNED_VALIDITY = datetime.timedelta(days=825)
_SELF_SIGNED_MIN_REMAINING = datetime.timedelta(days=30)
# Backdate new certificates a little so clients with a slow clock accept them at once.
_SELF_SIGNED_BACKDATE = datetime.timedelta(hours=1)
# RFC 5280 Appendix A (ub-common-name): a CN holds at most 64 characters.
_CN_MAX = 64


@final
class TLSConfigError(KernelError, ValueError):
    """A certificate, key or TLS option is unusable; message says which and why."""


@final
@dataclass(frozen=True, slots=True)
class CertificateSpec:
    """One configured certificate entry.

    Attributes:
        name: The config name of this entry, used in error messages.
        cert_pem: PEM text of the leaf certificate followed by any chain certificates.
        key_pem: PEM text of the (unencrypted) private key.
        names: SNI server names this certificate serves (``*.example.org`` wildcards
            allowed); empty means the certificate's own DNS names (:func:`certificate_names`).
    """

    name: str
    cert_pem: str
    key_pem: str
    names: tuple[str, ...] = ()


def certificate_names(cert_pem: str) -> list[str]:
    """Return the DNS names the leaf certificate is issued for.

    Args:
        cert_pem: PEM text; the first certificate in it is the leaf.

    Returns:
        The SubjectAltName DNS entries, or the subject CN if there is no SAN extension,
        lowercased, in certificate order, without duplicates.

    Raises:
        TLSConfigError: The text holds no parsable certificate.
    """
    try:
        leaf = x509.load_pem_x509_certificates(cert_pem.encode())[0]
    except ValueError as exc:
        raise TLSConfigError(f"no usable PEM certificate: {exc}") from exc
    return _leaf_dns_names(leaf)


def generate_self_signed(directory: Path, hostnames: Sequence[str]) -> CertificateSpec:
    """Create, or reuse, a self-signed certificate for a first start.

    The certificate and key live in ``directory/selfsigned.crt`` and
    ``directory/selfsigned.key``. They are reused when both exist, parse, belong together,
    stay valid for at least 30 more days and cover every hostname; otherwise a new pair
    replaces them: EC P-256, SHA-256, 825 days, a SubjectAltName for every hostname (an IP
    address literal becomes an IP SAN), ``CA:FALSE`` and the serverAuth extended key usage.

    Resource handling: files are written atomically (temporary file, fsync, ``os.replace``);
    the key file has mode 0600 and a missing directory is created with mode 0700.
    Blocking: yes (file I/O and key generation).

    Args:
        directory: Where the two files live.
        hostnames: DNS names or IP address literals the certificate must cover; the first
            also becomes the subject CN.

    Returns:
        The certificate entry, named ``self-signed``, with its names taken from the SAN.

    Raises:
        TLSConfigError: No hostnames, or a hostname that is neither an IP address nor a
            usable DNS name.
        OSError: The directory or files cannot be created or written.
    """
    if not hostnames:
        raise TLSConfigError("self-signed certificate: at least one hostname is required")
    dns_names: list[str] = []
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for host in hostnames:
        try:
            ip = ipaddress.ip_address(host.strip())
        except ValueError:
            dns = _normalize_name(host, entry="self-signed")
            if dns not in dns_names:
                dns_names.append(dns)
        else:
            if ip not in ips:
                ips.append(ip)
    directory = Path(directory)
    cert_path = directory / _SELF_SIGNED_CERT
    key_path = directory / _SELF_SIGNED_KEY
    existing = _reusable_pair(cert_path, key_path, dns_names, ips)
    if existing is not None:
        cert_pem, key_pem = existing
    else:
        cert_pem, key_pem = _make_self_signed(dns_names, ips)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_atomically(key_path, key_pem, mode=0o600)
        _write_atomically(cert_path, cert_pem, mode=0o644)
    return CertificateSpec(name="self-signed", cert_pem=cert_pem, key_pem=key_pem)


def build_server_context(
    certificates: Sequence[CertificateSpec],
    *,
    min_version: str = "1.2",
    ciphers: str | None = None,
    alpn: Sequence[str] = (),
) -> ssl.SSLContext:
    """Build the server-side context a TLS listener wraps its connections with.

    The first certificate is the default. The context's ``sni_callback`` switches a
    connection to the certificate whose names match the requested server name: an exact
    name, or a single-label wildcard (``*.example.org`` matches ``mail.example.org`` but not
    ``a.b.example.org`` nor ``example.org``), case-insensitively. An unknown or absent name
    keeps the default. Compression and renegotiation are disabled and the server's cipher
    order is preferred.

    Resource handling: each PEM pair is written to a private temporary directory just for
    the load and removed at once. Blocking: yes (file I/O).

    Args:
        certificates: The certificate entries; the first is the default.
        min_version: Lowest TLS version accepted: ``"1.2"`` or ``"1.3"``.
        ciphers: OpenSSL cipher string for TLS 1.2; None selects ECDHE with AES-GCM or
            ChaCha20-Poly1305 only.
        alpn: Application protocols offered for ALPN, in preference order (e.g.
            ``("h2", "http/1.1")``); empty disables ALPN.

    Returns:
        A configured ``ssl.SSLContext`` for ``server_side`` use.

    Raises:
        TLSConfigError: No certificates; a certificate or key that does not parse, is
            encrypted, or does not match (the message names the entry); an invalid SNI name;
            a bad ``min_version``; or a cipher string OpenSSL rejects.
    """
    if not certificates:
        raise TLSConfigError("no certificates configured")
    if min_version not in _MIN_VERSIONS:
        raise TLSConfigError(
            f"min_version {min_version!r} is not supported; use one of {sorted(_MIN_VERSIONS)}"
        )
    settings = (
        _MIN_VERSIONS[min_version],
        DEFAULT_CIPHERS if ciphers is None else ciphers,
        tuple(alpn),
    )
    contexts = [_certificate_context(spec, *settings) for spec in certificates]
    exact: dict[str, ssl.SSLContext] = {}
    wildcard: dict[str, ssl.SSLContext] = {}
    for spec, ctx in zip(certificates, contexts, strict=True):
        for name in _spec_names(spec):
            table, key = (wildcard, name[2:]) if name.startswith("*.") else (exact, name)
            table.setdefault(key, ctx)
    default = contexts[0]
    default.sni_callback = _make_sni_callback(default, exact, wildcard)
    return default


# --- context construction -----------------------------------------------------------------------


def _certificate_context(
    spec: CertificateSpec, min_version: ssl.TLSVersion, ciphers: str, alpn: tuple[str, ...]
) -> ssl.SSLContext:
    """Return a server context carrying ``spec``'s certificate and the shared settings."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = min_version
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    try:
        ctx.set_ciphers(ciphers)
    except ssl.SSLError as exc:
        raise TLSConfigError(f"cipher string {ciphers!r} rejected by OpenSSL: {exc}") from exc
    if alpn:
        try:
            ctx.set_alpn_protocols(list(alpn))
        except (ValueError, TypeError) as exc:
            raise TLSConfigError(f"ALPN protocols {list(alpn)!r}: {exc}") from exc
    _check_pair(spec)
    _load_pem_pair(ctx, spec)
    return ctx


def _check_pair(spec: CertificateSpec) -> None:
    """Parse ``spec``'s PEM text and check the key belongs to the leaf certificate."""
    try:
        leaf = x509.load_pem_x509_certificates(spec.cert_pem.encode())[0]
    except ValueError as exc:
        raise TLSConfigError(f"certificate {spec.name!r}: no usable PEM certificate") from exc
    try:
        key = serialization.load_pem_private_key(spec.key_pem.encode(), password=None)
    except TypeError as exc:  # cryptography's signal for an encrypted key
        raise TLSConfigError(f"certificate {spec.name!r}: the private key is encrypted") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise TLSConfigError(f"certificate {spec.name!r}: no usable PEM private key") from exc
    if _public_der(key.public_key()) != _public_der(leaf.public_key()):
        raise TLSConfigError(
            f"certificate {spec.name!r}: the private key does not match the certificate"
        )


def _load_pem_pair(ctx: ssl.SSLContext, spec: CertificateSpec) -> None:
    """Load ``spec`` into ``ctx`` through 0600 files in a private temporary directory."""

    def refuse_password() -> bytes:
        raise TLSConfigError(f"certificate {spec.name!r}: the private key is encrypted")

    with tempfile.TemporaryDirectory(prefix="kernel-tls-") as tmp:
        cert_file = os.path.join(tmp, "cert.pem")
        key_file = os.path.join(tmp, "key.pem")
        _write_private(cert_file, spec.cert_pem)
        _write_private(key_file, spec.key_pem)
        try:
            ctx.load_cert_chain(cert_file, key_file, password=refuse_password)
        except ssl.SSLError as exc:
            raise TLSConfigError(f"certificate {spec.name!r}: OpenSSL refused it: {exc}") from exc


def _write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(text.encode())


def _public_der(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- SNI ----------------------------------------------------------------------------------------


def _make_sni_callback(
    default: ssl.SSLContext,
    exact: dict[str, ssl.SSLContext],
    wildcard: dict[str, ssl.SSLContext],
) -> Callable[[ssl.SSLObject | ssl.SSLSocket, str | None, ssl.SSLContext], None]:
    def sni_callback(
        conn: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _ctx: ssl.SSLContext
    ) -> None:
        if not server_name:
            return
        name = server_name.rstrip(".").lower()
        chosen = exact.get(name)
        if chosen is None:
            _first, dot, parent = name.partition(".")
            if _first and dot:
                chosen = wildcard.get(parent)
        if chosen is not None and chosen is not default:
            conn.context = chosen

    return sni_callback


def _spec_names(spec: CertificateSpec) -> list[str]:
    """Return the normalized SNI names ``spec`` serves (configured, else from the cert)."""
    if spec.names:
        return [_normalize_name(n, entry=spec.name) for n in spec.names]
    # Names from the certificate itself: partial wildcards ("m*.example.org") cannot be
    # looked up, so they are skipped rather than refused.
    names: list[str] = []
    for raw in certificate_names(spec.cert_pem):
        with contextlib.suppress(TLSConfigError):
            names.append(_normalize_name(raw, entry=spec.name))
    return names


def _normalize_name(name: str, *, entry: str) -> str:
    """Lowercase ``name``, drop a trailing dot, convert IDN labels to A-labels."""
    raw = name.strip().rstrip(".").lower()
    labels = raw.split(".")
    rest = labels[1:] if labels[0] == "*" else labels
    if not rest or "" in labels or any("*" in label for label in rest):
        raise TLSConfigError(f"certificate {entry!r}: invalid server name {name!r}")
    try:
        return ".".join(
            label if label.isascii() else label.encode("idna").decode("ascii") for label in labels
        )
    except UnicodeError as exc:
        raise TLSConfigError(f"certificate {entry!r}: invalid server name {name!r}") from exc


def _leaf_dns_names(leaf: x509.Certificate) -> list[str]:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        raw = [str(a.value) for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    else:
        raw = san.value.get_values_for_type(x509.DNSName)
    return list(dict.fromkeys(n.lower() for n in raw))


# --- self-signed certificate --------------------------------------------------------------------


def _reusable_pair(
    cert_path: Path,
    key_path: Path,
    dns_names: list[str],
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
) -> tuple[str, str] | None:
    """Return the existing PEM pair if it is still good for ``dns_names`` and ``ips``."""
    try:
        cert_pem = cert_path.read_text(encoding="ascii")
        key_pem = key_path.read_text(encoding="ascii")
        _check_pair(CertificateSpec("self-signed", cert_pem, key_pem))
        leaf = x509.load_pem_x509_certificate(cert_pem.encode())
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):  # TLSConfigError is a ValueError
        return None
    remaining = leaf.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    if remaining < _SELF_SIGNED_MIN_REMAINING:
        return None
    have_dns = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    have_ips = set(san.get_values_for_type(x509.IPAddress))
    if not (set(dns_names) <= have_dns and set(ips) <= have_ips):
        return None
    return cert_pem, key_pem


def _make_self_signed(
    dns_names: list[str], ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address]
) -> tuple[str, str]:
    """Return a new (certificate PEM, key PEM) pair covering ``dns_names`` and ``ips``."""
    key = ec.generate_private_key(ec.SECP256R1())
    first = dns_names[0] if dns_names else str(ips[0])
    cn = first if len(first) <= _CN_MAX else "self-signed"
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ip) for ip in ips]
    now = datetime.datetime.now(datetime.UTC)
    public_key = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _SELF_SIGNED_BACKDATE)
        .not_valid_after(now + _SELF_SIGNED_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return cert_pem, key_pem


def _write_atomically(path: Path, text: str, *, mode: int) -> None:
    """Replace ``path`` with ``text``: temporary file, fsync, ``os.replace``, fsync the dir."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
