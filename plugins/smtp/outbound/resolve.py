"""Where a domain's mail goes: static routes, MX lookup (RFC 5321 §5.1), null MX (RFC 7505).

:func:`destinations` answers an ordered list of :class:`Destination` (host name,
addresses, port) or raises :class:`RouteError` (permanent or temporary).

RFC 5321 §5.1, as applied:

* MX records are tried in order of preference, randomly among equal ones.
* No MX records (NODATA) but the name has A/AAAA records: the domain itself is
  the implicit MX, preference 0.
* NXDOMAIN: the domain does not exist, a permanent failure (5.1.2).
* A lookup failure (SERVFAIL, timeout) is temporary (4.4.3): retry later.
* RFC 7505 §3: a single MX of preference 0 with exchange "." (null MX) means
  the domain accepts no mail: permanent failure 5.1.10.
* An address literal ``[192.0.2.1]`` / ``[IPv6:...]`` is used as is.

Lookups go through dnspython's async resolver (its trio backend), against the
configured nameservers and port or the system's resolv.conf.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from typing import final

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver

from plugins.smtp.outbound.settings import QueueSettings

__all__ = ["Destination", "RouteError", "destinations", "make_resolver"]


@final
@dataclass(frozen=True, slots=True)
class Destination:
    """One host to try: its name (for logs, SNI, DSN Remote-MTA), addresses, port."""

    host: str
    addresses: tuple[str, ...]
    port: int
    auth: tuple[str, str] | None = None
    tls: str | None = None  # None: the queue's default


class RouteError(Exception):
    """No usable destination: ``permanent`` says whether to give up now."""

    def __init__(self, status: str, text: str, *, permanent: bool) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.permanent = permanent


def make_resolver(settings: QueueSettings) -> dns.asyncresolver.Resolver:
    """A resolver for the configured nameservers (or the system's)."""
    if settings.nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = list(settings.nameservers)
        resolver.port = settings.resolver_port
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.lifetime = settings.resolver_timeout
    return resolver


def _literal(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


async def _query(resolver: dns.asyncresolver.Resolver, name: str, rdtype: str) -> list[str] | None:
    """The answers' texts; [] for NODATA; None for NXDOMAIN. Raises RouteError if temporary."""
    try:
        answer = await resolver.resolve(name, rdtype, search=False)
    except dns.resolver.NXDOMAIN:
        return None
    except dns.resolver.NoAnswer:
        return []
    except dns.exception.DNSException as exc:  # SERVFAIL, timeouts: temporary
        text = f"DNS lookup of {name} {rdtype} failed: {exc}"
        raise RouteError("4.4.3", text, permanent=False) from exc
    return [rdata.to_text() for rdata in answer]


async def addresses(
    resolver: dns.asyncresolver.Resolver, name: str, *, ipv6: bool
) -> tuple[list[str], bool]:
    """IPv4 then IPv6 addresses of ``name``, and whether the name exists."""
    literal = _literal(name)
    if literal is not None:
        return [literal], True
    v4 = await _query(resolver, name, "A")
    if v4 is None:
        return [], False
    v6 = (await _query(resolver, name, "AAAA") or []) if ipv6 else []
    return v4 + v6, True


async def _mx(resolver: dns.asyncresolver.Resolver, domain: str) -> list[tuple[int, str]] | None:
    try:
        answer = await resolver.resolve(domain, "MX", search=False)
    except dns.resolver.NXDOMAIN:
        return None
    except dns.resolver.NoAnswer:
        return []
    except dns.exception.DNSException as exc:
        text = f"MX lookup of {domain} failed: {exc}"
        raise RouteError("4.4.3", text, permanent=False) from exc
    return [(r.preference, r.exchange.to_text(omit_final_dot=True)) for r in answer]


async def destinations(
    domain: str, settings: QueueSettings, resolver: dns.asyncresolver.Resolver
) -> list[Destination]:
    """The hosts to try for ``domain``, best first (see the module notes).

    Raises:
        RouteError: no host can be tried (permanent or not).
    """
    route = settings.route(domain)
    if route is not None:
        found, _ = await addresses(resolver, route.host, ipv6=settings.ipv6)
        if not found:
            raise RouteError("4.4.4", f"route host {route.host} has no address", permanent=False)
        auth = (route.username, route.password or "") if route.username else None
        return [Destination(route.host, tuple(found), route.port, auth, route.tls)]
    port = settings.remote_port
    if domain.startswith("[") and domain.endswith("]"):
        text = domain[1:-1]
        literal = _literal(text[5:] if text.lower().startswith("ipv6:") else text)
        if literal is None:
            raise RouteError("5.1.2", f"bad address literal {domain}", permanent=True)
        return [Destination(domain, (literal,), port)]
    records = await _mx(resolver, domain)
    if records is None:
        raise RouteError("5.1.2", f"domain {domain} does not exist", permanent=True)
    if len(records) == 1 and records[0][1] in ("", ".") and records[0][0] == 0:
        # RFC 7505 §3: null MX: the domain accepts no mail.
        raise RouteError("5.1.10", f"domain {domain} accepts no mail (null MX)", permanent=True)
    records = [(p, h) for p, h in records if h not in ("", ".")]
    if not records:
        # RFC 5321 §5.1: no MX: the domain itself, if it has an address.
        records = [(0, domain)]
    random.shuffle(records)  # RFC 5321 §5.1: random order among equal preferences
    records.sort(key=lambda r: r[0])
    out: list[Destination] = []
    temporary: RouteError | None = None
    for _, host in records[: settings.max_mx]:
        try:
            found, _ = await addresses(resolver, host, ipv6=settings.ipv6)
        except RouteError as exc:
            temporary = exc
            continue
        if found:
            out.append(Destination(host, tuple(found), port))
    if out:
        return out
    if temporary is not None:
        raise temporary
    if records == [(0, domain)]:
        raise RouteError("5.1.2", f"domain {domain} has no MX and no address", permanent=True)
    raise RouteError("4.4.4", f"no MX host of {domain} has an address", permanent=False)
