"""The kernel's error tree.

Every error the kernel raises on purpose derives from :class:`KernelError`, so a
caller can catch "anything the kernel refused" in one place. Protocol plugins
define their own protocol errors (``proto/errors.py``); storage errors live here
because every protocol translates them at its edge (STYLE.md §1.6).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DuplicateUid",
    "KernelError",
    "ListenerError",
    "Locked",
    "NoSuchItem",
    "PluginError",
    "PreconditionFailed",
    "QuotaExceeded",
    "StoreError",
]


class KernelError(Exception):
    """Base of every error the kernel raises deliberately."""


class ConfigError(KernelError):
    """The configuration is invalid.

    Carries every diagnostic found (the loader reports all problems at once), each
    rendered as ``file:line: key.path: message``.
    """

    def __init__(self, diagnostics: list) -> None:  # list[Diagnostic]; avoids an import cycle
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics) or "invalid configuration")


class PluginError(KernelError):
    """A plugin could not be found, loaded or resolved; names the plugin."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class ListenerError(KernelError):
    """A listener could not be bound or configured; names the listener."""

    def __init__(self, listener: str, message: str) -> None:
        self.listener = listener
        super().__init__(f"listener {listener!r}: {message}")


class StoreError(KernelError):
    """Base of the store's domain errors."""


class NoSuchItem(StoreError):
    """The addressed item (account, mailbox, email, resource...) does not exist."""


class PreconditionFailed(StoreError):
    """A conditional write failed: the ETag, state or modseq did not match."""


class DuplicateUid(StoreError):
    """A resource with the same UID already exists in the collection."""


class QuotaExceeded(StoreError):
    """The write would exceed the account's quota; nothing was written."""


class Locked(StoreError):
    """The item is locked by another session (e.g. a POP3 maildrop lease)."""
