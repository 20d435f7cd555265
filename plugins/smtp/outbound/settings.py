"""The ``smtp.queue`` options and the snapshot the queue manager reads per attempt.

Every option is reloadable: the manager takes a fresh :class:`QueueSettings`
for each claim, so a reload applies to the next delivery attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, final

from kernel import Option

if TYPE_CHECKING:
    from kernel import Kernel

__all__ = ["QUEUE_OPTIONS", "QueueSettings", "Route"]

_ROUTE_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "properties": {
            "host": {"type": "string"},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "username": {"type": "string"},
            "password": {"type": "string"},
            "tls": {"enum": ["opportunistic", "require", "none"]},
        },
        "required": ["host"],
        "additionalProperties": False,
    },
}

QUEUE_OPTIONS = (
    Option(
        "queue.enabled",
        "boolean",
        True,
        "Run the queue manager on this node (a node with `false` still accepts and queues).",
    ),
    Option(
        "queue.lifetime",
        "duration",
        "5d",
        "Give up on a recipient this long after the message was queued and send a failure "
        "DSN (RFC 5321 §4.5.4.1 asks for at least 4-5 days). A message queued with a "
        "shorter lifetime keeps it.",
    ),
    Option(
        "queue.retry.initial",
        "duration",
        "15m",
        "Wait after the first temporary failure; each further one waits `retry.factor` "
        "times longer, up to `retry.max`.",
    ),
    Option("queue.retry.factor", "number", 2.0, "Backoff multiplier.", schema={"minimum": 1}),
    Option("queue.retry.max", "duration", "4h", "Longest wait between two attempts."),
    Option(
        "queue.warn_after",
        "duration",
        "4h",
        "Send one delay warning DSN (RFC 3464 Action: delayed) once a recipient is still "
        "undelivered this long after queueing; 0 disables warnings.",
    ),
    Option(
        "queue.lease",
        "duration",
        "15m",
        "How long a node owns the recipients it claimed; after a crash another node (or "
        "this one, restarted) retries them once it passes. Must exceed one attempt's "
        "duration (connection and command timeouts).",
    ),
    Option(
        "queue.poll_interval",
        "duration",
        "30s",
        "Longest sleep between looks at the queue (wake-ups from this node's enqueues are "
        "immediate; this bounds how late work queued by another node is seen).",
    ),
    Option(
        "queue.concurrency",
        "integer",
        16,
        "Delivery attempts in flight on this node.",
        schema={"minimum": 1},
    ),
    Option(
        "queue.domain_concurrency",
        "integer",
        4,
        "Delivery attempts in flight to one destination domain.",
        schema={"minimum": 1},
    ),
    Option("queue.connect_timeout", "duration", "30s", "Time allowed for each TCP connection."),
    Option(
        "queue.command_timeout",
        "duration",
        "5m",
        "Time allowed for each reply (RFC 5321 §4.5.3.2: 5 minutes for MAIL and RCPT).",
    ),
    Option(
        "queue.data_timeout",
        "duration",
        "10m",
        "Time allowed for the reply to the end of data (RFC 5321 §4.5.3.2.6).",
    ),
    Option(
        "queue.tls",
        "string",
        "opportunistic",
        "STARTTLS towards remote MX hosts: `opportunistic` (when offered; certificates are "
        "not verified, RFC 3207 §4.1, until DANE/MTA-STS), `require` (defer if not "
        "offered), `none`.",
        choices=("opportunistic", "require", "none"),
    ),
    Option("queue.ipv6", "boolean", True, "Also connect to IPv6 addresses (AAAA)."),
    Option(
        "queue.max_mx",
        "integer",
        5,
        "MX hosts tried per attempt, in preference order.",
        schema={"minimum": 1},
    ),
    Option(
        "queue.remote_port",
        "integer",
        25,
        "TCP port of remote MX hosts. Only for tests (a second server on a loopback "
        "address); leave 25 in production.",
        schema={"minimum": 1, "maximum": 65535},
    ),
    Option(
        "queue.resolver.nameservers",
        "string-list",
        [],
        "DNS servers for MX, A and AAAA lookups (empty: the system's /etc/resolv.conf).",
    ),
    Option(
        "queue.resolver.port",
        "integer",
        53,
        "Port of those DNS servers.",
        schema={"minimum": 1, "maximum": 65535},
    ),
    Option("queue.resolver.timeout", "duration", "10s", "Time allowed for one lookup."),
    Option(
        "queue.routes",
        "json",
        {},
        "Static routes: a domain (or `*` for every domain without its own route) to "
        "`{host, port, username, password, tls}`. The host is used instead of the MX "
        "lookup; with `username` the client authenticates (AUTH PLAIN, only over TLS "
        "unless `tls: none`): a smarthost.",
        schema=_ROUTE_SCHEMA,
    ),
)


@final
@dataclass(frozen=True, slots=True)
class Route:
    """A static route: where one domain's (or every domain's) mail goes."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: str = "opportunistic"


@final
@dataclass(frozen=True, slots=True)
class QueueSettings:
    """A snapshot of ``smtp.queue`` (see the options' help)."""

    hostname: str
    enabled: bool = True
    lifetime: float = 5 * 86400.0
    retry_initial: float = 900.0
    retry_factor: float = 2.0
    retry_max: float = 4 * 3600.0
    warn_after: float = 4 * 3600.0
    lease: float = 900.0
    poll_interval: float = 30.0
    concurrency: int = 16
    domain_concurrency: int = 4
    connect_timeout: float = 30.0
    command_timeout: float = 300.0
    data_timeout: float = 600.0
    tls: str = "opportunistic"
    ipv6: bool = True
    max_mx: int = 5
    remote_port: int = 25
    nameservers: tuple[str, ...] = ()
    resolver_port: int = 53
    resolver_timeout: float = 10.0
    routes: Mapping[str, Route] = field(default_factory=dict)

    @classmethod
    def from_kernel(cls, kernel: Kernel) -> QueueSettings:
        smtp = kernel.config["smtp"]
        q = smtp["queue"]
        return cls(
            hostname=smtp["hostname"] or kernel.hostname,
            enabled=q["enabled"],
            lifetime=q["lifetime"],
            retry_initial=q["retry"]["initial"],
            retry_factor=q["retry"]["factor"],
            retry_max=q["retry"]["max"],
            warn_after=q["warn_after"],
            lease=q["lease"],
            poll_interval=q["poll_interval"],
            concurrency=q["concurrency"],
            domain_concurrency=q["domain_concurrency"],
            connect_timeout=q["connect_timeout"],
            command_timeout=q["command_timeout"],
            data_timeout=q["data_timeout"],
            tls=q["tls"],
            ipv6=q["ipv6"],
            max_mx=q["max_mx"],
            remote_port=q["remote_port"],
            nameservers=tuple(q["resolver"]["nameservers"]),
            resolver_port=q["resolver"]["port"],
            resolver_timeout=q["resolver"]["timeout"],
            routes={k.lower(): _route(v) for k, v in (q["routes"] or {}).items()},
        )

    def route(self, domain: str) -> Route | None:
        """The static route for ``domain``, or the ``*`` route, or None (use MX)."""
        return self.routes.get(domain.lower()) or self.routes.get("*")

    def backoff(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th temporary failure (1 = the first)."""
        delay = self.retry_initial * self.retry_factor ** max(0, failures - 1)
        return min(delay, self.retry_max)


def _route(value: Mapping[str, Any]) -> Route:
    return Route(
        host=value["host"],
        port=int(value.get("port", 25)),
        username=value.get("username"),
        password=value.get("password"),
        tls=value.get("tls", "opportunistic"),
    )
