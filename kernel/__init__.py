"""stalwart-kernel: the trio kernel of a self-hosted mail and collaboration server.

The public API for plugins: the hook markers, the spec records plugins return,
the :class:`Kernel` they are handed, the connection object protocols serve,
configuration records, events, telemetry and the error tree. Everything else in
the package is internal.
"""

from kernel.config import Config, Diagnostic, Location, Option, Section, Severity
from kernel.errors import (
    ConfigError,
    DuplicateUid,
    KernelError,
    ListenerError,
    Locked,
    NoSuchItem,
    PluginError,
    PreconditionFailed,
    QuotaExceeded,
    StoreError,
)
from kernel.events import ChangeEvent, EventBus, LocalEventBus, Subscription
from kernel.hookspecs import hookimpl
from kernel.lifecycle import Kernel, ReloadResult
from kernel.net.connection import Connection, IdleTimeout, TLSInfo
from kernel.pipeline import DeliveryTarget, Envelope, Filing, SessionInfo, Verdict, VerdictAction
from kernel.specs import AuthResult, BackendSpec, CommandSpec, Credentials, ProtocolSpec
from kernel.stash import Stash, StashKey
from kernel.telemetry import Metrics, StructuredLogger

__all__ = [
    "AuthResult",
    "BackendSpec",
    "ChangeEvent",
    "CommandSpec",
    "Config",
    "ConfigError",
    "Connection",
    "Credentials",
    "DeliveryTarget",
    "Diagnostic",
    "DuplicateUid",
    "Envelope",
    "EventBus",
    "Filing",
    "IdleTimeout",
    "Kernel",
    "KernelError",
    "ListenerError",
    "LocalEventBus",
    "Location",
    "Locked",
    "Metrics",
    "NoSuchItem",
    "Option",
    "PluginError",
    "PreconditionFailed",
    "ProtocolSpec",
    "QuotaExceeded",
    "ReloadResult",
    "Section",
    "SessionInfo",
    "Severity",
    "Stash",
    "StashKey",
    "StoreError",
    "StructuredLogger",
    "Subscription",
    "TLSInfo",
    "Verdict",
    "VerdictAction",
    "hookimpl",
]
