"""The configuration sections the kernel itself owns.

``server``, ``logging``, ``config``, ``tls``, ``auth``, ``listeners`` and the backend
selectors ``store``, ``blob`` and ``events``; plugins add theirs through
``stalwart_register_config_sections``. The top-level ``plugins`` list is not a
section: it is the one top-level key that holds a list.
"""

from __future__ import annotations

from kernel.config.schema import REQUIRED, Option, Section

__all__ = ["KERNEL_SECTIONS", "PLUGINS_SCHEMA"]

PLUGINS_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+$"},
    "description": "Plugins to load (entry-point names) when --plugins is not given.",
    "default": [],
}

_SERVER = Section(
    "server",
    "Process-wide settings.",
    (
        Option(
            "hostname",
            "string",
            None,
            "This server's public host name (EHLO, greetings, "
            "self-signed certificate). Defaults to the machine's fully qualified name.",
        ),
        Option(
            "max_connections",
            "integer",
            10000,
            "Connections open at once across all listeners; more are refused.",
            schema={"minimum": 1},
        ),
        Option(
            "shutdown_timeout",
            "duration",
            "30s",
            "On SIGTERM/SIGINT, how long sessions may run to completion after listeners "
            "stop accepting, before they are cancelled.",
        ),
    ),
)

_LOGGING = Section(
    "logging",
    "Structured logs: one line per event on standard error.",
    (
        Option(
            "format",
            "string",
            "kv",
            "Line format: key=value pairs or one JSON object.",
            choices=("kv", "json"),
        ),
        Option(
            "level",
            "string",
            "info",
            "Default level.",
            choices=("debug", "info", "warning", "error"),
        ),
        Option(
            "components",
            "string-map",
            {},
            "Per-component levels, e.g. {net: debug, imap: warning}.",
            schema={"additionalProperties": {"enum": ["debug", "info", "warning", "error"]}},
        ),
    ),
)

_CONFIG = Section(
    "config",
    "Hot reload of this configuration.",
    (
        Option(
            "watch",
            "boolean",
            True,
            "Reload when a configuration file (or an included file) changes.",
        ),
        Option(
            "poll_interval",
            "duration",
            "2s",
            "How often configuration files are checked for changes.",
        ),
    ),
)

_CERTIFICATE = {
    "type": "object",
    "properties": {
        "cert": {"type": "string", "description": "PEM certificate chain; use ${file:PATH}."},
        "key": {"type": "string", "description": "PEM private key; use ${file:PATH}."},
        "names": {
            "type": "array",
            "items": {"type": "string"},
            "description": "SNI names served; default: the certificate's DNS names.",
        },
    },
    "required": ["cert", "key"],
    "additionalProperties": False,
}

_TLS = Section(
    "tls",
    "Certificates and TLS parameters shared by every listener.",
    (
        Option(
            "certificates",
            "json",
            {},
            "Named certificates ({name: {cert, key, names}}); a client's SNI server name "
            "picks one, the first is the default. When empty, a self-signed certificate "
            "is generated under DATA/tls on first start.",
            schema={"type": "object", "additionalProperties": _CERTIFICATE},
        ),
        Option(
            "min_version", "string", "1.2", "Lowest TLS version accepted.", choices=("1.2", "1.3")
        ),
        Option(
            "ciphers",
            "string",
            None,
            "OpenSSL cipher list for TLS 1.2; default: ECDHE with AES-GCM or ChaCha20.",
        ),
        Option(
            "self_signed_names",
            "string-list",
            ["localhost", "127.0.0.1", "::1"],
            "Names the generated self-signed certificate covers (plus server.hostname).",
        ),
        Option("handshake_timeout", "duration", "30s", "Time allowed for a TLS handshake."),
    ),
)

_LISTENERS = Section(
    "listeners",
    "Listeners by name. A later file can change one by name or remove it with `name: null`.",
    (
        Option(
            "bind",
            "json",
            REQUIRED,
            "Address(es) to listen on: `127.0.0.1:1143`, `[::1]:1143`, `*:1143` "
            "(all IPv4 and IPv6 addresses).",
            schema={
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ]
            },
        ),
        Option(
            "protocol",
            "string",
            REQUIRED,
            "The protocol served (`smtp`, `imap`, `pop3`, `http`...); a plugin provides it.",
        ),
        Option(
            "tls",
            "string",
            "none",
            "`implicit` TLS from the first byte, `starttls` on request, or `none`.",
            choices=("none", "starttls", "implicit"),
        ),
        Option(
            "role",
            "string",
            None,
            "Protocol-specific role (SMTP: `mta`, `submission`, `submissions`).",
        ),
        Option("enabled", "boolean", True, "Set false to keep the entry but not bind it."),
        Option(
            "certificates",
            "string-list",
            None,
            "Names from tls.certificates this listener offers; default: all.",
        ),
        Option(
            "proxy_protocol.trusted_networks",
            "string-list",
            [],
            "Networks (CIDR) whose connections must start with a PROXY protocol v1 or v2 "
            "header giving the real client address; others are served as they are.",
        ),
        Option(
            "proxy_protocol.timeout",
            "duration",
            "5s",
            "Time allowed for a trusted peer to send its PROXY header.",
        ),
        Option(
            "limits.max_connections",
            "integer",
            1000,
            "Connections open at once on this listener.",
            schema={"minimum": 1},
        ),
        Option(
            "limits.max_connections_per_ip",
            "integer",
            100,
            "Connections open at once from one client address.",
            schema={"minimum": 1},
        ),
        Option(
            "limits.idle_timeout",
            "duration",
            None,
            "Client silence before the session is closed; default: the protocol's.",
        ),
    ),
    entries=True,
)


_AUTH = Section(
    "auth",
    "How clients log in to every mail protocol (SASL, RFC 4422; LOGIN, USER/PASS).",
    (
        Option(
            "mechanisms",
            "string-list",
            ["SCRAM-SHA-256", "PLAIN", "LOGIN", "OAUTHBEARER"],
            "SASL mechanisms offered, in this order of preference. SCRAM-SHA-1 (RFC 5802) "
            "is off by default here (SCRAM-SHA-256 supersedes it) but ManageSieve adds it "
            "(RFC 5804 §2.1 requires it; see `managesieve.sasl_mechanisms`).",
            schema={
                "items": {
                    "enum": ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN", "OAUTHBEARER"]
                },
                "uniqueItems": True,
            },
        ),
        Option(
            "allow_plaintext_without_tls",
            "boolean",
            False,
            "Accept passwords and bearer tokens over unencrypted connections (IMAP "
            "LOGIN, POP3 USER/PASS, AUTH PLAIN/LOGIN/OAUTHBEARER). Only for tests and "
            "loopback-only setups (RFC 8314).",
        ),
        Option(
            "max_response",
            "size",
            "16KiB",
            "Largest SASL response a client may send in one step.",
        ),
    ),
)


def _backend(kind: str, default: str, help: str, *extra: Option) -> Section:
    return Section(
        kind,
        help,
        (
            Option(
                "backend",
                "string",
                default,
                f"The {kind} backend: a name a plugin provides. Changes apply at restart.",
                reloadable=False,
            ),
            *extra,
        ),
    )


KERNEL_SECTIONS: tuple[Section, ...] = (
    _SERVER,
    _LOGGING,
    _CONFIG,
    _TLS,
    _AUTH,
    _LISTENERS,
    _backend(
        "store",
        "sqlite",
        "Where accounts, mailboxes and messages' metadata live.",
        Option(
            "change_retention",
            "duration",
            "30d",
            "How long the change log remembers changes; a client last synchronised "
            "longer ago must resynchronise (JMAP cannotCalculateChanges, QRESYNC).",
        ),
        Option(
            "maintenance_interval",
            "duration",
            "1h",
            "How often the log is pruned and unreferenced blob files are collected.",
        ),
        Option(
            "inline_limit",
            "integer",
            65536,
            "Messages up to this many bytes are kept in the database; larger ones "
            "in the blob store.",
            reloadable=False,
            schema={"minimum": 0},
        ),
    ),
    _backend("blob", "fs", "Where message and file contents live (content-addressed)."),
    _backend("events", "local", "The change-notification bus (IDLE, push)."),
)
