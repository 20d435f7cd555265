"""The method contract: how a JMAP method is written and dispatched (RFC 8620 §3).

A method is an async function in a module under ``plugins/jmap/core/`` or
``plugins/jmap/mail/``, decorated with :func:`register`::

    @register("Mailbox/get", MAIL)
    async def mailbox_get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
        account = await call.account_id(args)
        ...
        return {"accountId": args["accountId"], "state": ..., "list": [...], "notFound": []}

It returns its response arguments, or a list of ``(name, arguments)`` pairs
when it also answers for implicit calls (RFC 8620 §3.4: e.g. Email/copy with
``onSuccessDestroyOriginal`` returns ``[("Email/copy", {...}), ("Email/set",
{...})]``). It raises :class:`MethodError` for a method-level error (§3.6.2);
any other exception becomes ``serverFail`` and is logged.

``register`` only tags the function; there is no module-level registry. The
:class:`MethodRegistry` of a kernel is built by :func:`collect_methods`, which
imports every module of the method packages and picks the tagged functions,
so a new method module needs no other edit.

Implementation notes:

* Dispatch: an unknown name, or one whose capability is not in the request's
  ``using``, is ``unknownMethod`` (§3.6.2: "the server MUST respond with an
  unknownMethod error if ... the capability ... was not in the using array").
* ``accountId`` is never defaulted: missing or not a string is
  ``invalidArguments``; an id the user cannot reach is ``accountNotFound``;
  an account lacking the method's capability is ``accountNotSupportedByMethod``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar, final

from plugins.jmap.accounts import Account, User, accessible_accounts
from plugins.jmap.capabilities import CORE, MAIL
from plugins.jmap.ids import ACCOUNT, decode_id
from plugins.jmap.state import state_string

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from plugins.jmap.config import JmapSettings

__all__ = [
    "METHOD_PACKAGES",
    "Call",
    "Handler",
    "MethodError",
    "MethodRegistry",
    "MethodSpec",
    "RequestContext",
    "Responses",
    "as_responses",
    "collect_methods",
    "register",
]

#: What a handler returns: its arguments, or several (name, arguments) responses.
Responses = dict[str, Any] | list[tuple[str, dict[str, Any]]]
Handler = Callable[["Call", dict[str, Any]], Awaitable[Responses]]
F = TypeVar("F", bound=Handler)

#: The packages whose modules hold methods.
METHOD_PACKAGES: tuple[str, ...] = (
    "plugins.jmap.core",
    "plugins.jmap.mail",
    "plugins.jmap.sieve",
)

_TAG = "__jmap_method__"


class MethodError(Exception):
    """A method-level error (RFC 8620 §3.6.2): ``["error", {"type": ..., ...}, callId]``.

    Args:
        type: the error type (``invalidArguments``, ``accountNotFound``, ...).
        description: optional human-readable text.
        extra: more members of the error object (e.g. ``properties=[...]``).
    """

    def __init__(self, type: str, description: str | None = None, **extra: Any) -> None:
        super().__init__(f"{type}: {description}" if description else type)
        self.type = type
        self.description = description
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        """The error's arguments object."""
        out: dict[str, Any] = {"type": self.type}
        if self.description is not None:
            out["description"] = self.description
        out.update(self.extra)
        return out


@final
@dataclass(frozen=True, slots=True)
class MethodSpec:
    """A registered method: its name, the capability it belongs to, its handler."""

    name: str
    capability: str
    handler: Handler


def register(name: str, capability: str) -> Callable[[F], F]:
    """Mark ``handler`` as the method ``name`` of ``capability`` (see the module notes)."""

    def mark(handler: F) -> F:
        setattr(handler, _TAG, MethodSpec(name, capability, handler))
        return handler

    return mark


@final
class MethodRegistry:
    """The methods one kernel serves, by name."""

    def __init__(self, methods: Iterable[MethodSpec]) -> None:
        self.methods: dict[str, MethodSpec] = {}
        for spec in methods:
            if spec.name in self.methods:
                raise ValueError(f"JMAP method {spec.name} registered twice")
            self.methods[spec.name] = spec

    @property
    def capabilities(self) -> frozenset[str]:
        """Every capability some method belongs to."""
        return frozenset(spec.capability for spec in self.methods.values())

    def lookup(self, name: str, using: frozenset[str]) -> MethodSpec:
        """The method ``name``, if its capability is in ``using``; else ``unknownMethod``."""
        spec = self.methods.get(name)
        if spec is None:
            raise MethodError("unknownMethod", f"no method {name!r}")
        if spec.capability not in using:
            raise MethodError("unknownMethod", f"{name} needs {spec.capability} in 'using'")
        return spec


def _modules(package_name: str) -> list[ModuleType]:
    package = importlib.import_module(package_name)
    found = [package]
    for info in pkgutil.iter_modules(package.__path__, package_name + "."):
        found.append(importlib.import_module(info.name))
    return found


def collect_methods(packages: Iterable[str] = METHOD_PACKAGES) -> MethodRegistry:
    """Import the modules of ``packages`` and register every tagged function."""
    specs = []
    for package in packages:
        for module in _modules(package):
            for value in vars(module).values():
                spec = getattr(value, _TAG, None)
                if isinstance(spec, MethodSpec) and spec.handler is value:
                    specs.append(spec)
    return MethodRegistry(specs)


@final
class RequestContext:
    """What the calls of one API request share: who, ``using``, created ids, caches."""

    def __init__(
        self,
        kernel: Kernel,
        user: User,
        using: Iterable[str],
        registry: MethodRegistry,
        settings: JmapSettings,
        created_ids: dict[str, str] | None = None,
    ) -> None:
        self.kernel = kernel
        self.user = user
        self.using = frozenset(using)
        self.registry = registry
        self.settings = settings
        #: RFC 8620 §3.3/§5.3: creation id (without ``#``) to the id the server assigned.
        self.created_ids: dict[str, str] = dict(created_ids or {})
        self._accounts: dict[int, Account] | None = None

    async def accounts(self) -> dict[int, Account]:
        """The accounts the user can reach (read once per request)."""
        if self._accounts is None:
            self._accounts = await accessible_accounts(self.kernel, self.user)
        return self._accounts

    def forget_accounts(self) -> None:
        """Re-read the accessible accounts next time (after a sharing change)."""
        self._accounts = None


@final
@dataclass(slots=True)
class Call:
    """One method call in progress: the request's context plus this call's name and id.

    Attributes:
      context: what the whole request shares.
      name: the method name as sent.
      call_id: the client's method call id.
    """

    context: RequestContext
    name: str
    call_id: str
    capability: str = CORE
    _extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kernel(self) -> Kernel:
        """The running kernel (``call.kernel.store`` is the store)."""
        return self.context.kernel

    @property
    def user(self) -> User:
        """The authenticated principal."""
        return self.context.user

    @property
    def using(self) -> frozenset[str]:
        """The request's capabilities."""
        return self.context.using

    @property
    def created_ids(self) -> dict[str, str]:
        """Creation ids (without ``#``) to server ids, for the whole request (§5.3)."""
        return self.context.created_ids

    @property
    def settings(self) -> JmapSettings:
        """The ``jmap`` config section as a settings record."""
        return self.context.settings

    async def account(self, args: dict[str, Any], key: str = "accountId") -> Account:
        """The account ``args[key]`` names, checked (see :meth:`account_id`)."""
        value = args.get(key)
        if not isinstance(value, str):
            raise MethodError("invalidArguments", f"'{key}' must be given as a string")
        number = decode_id(ACCOUNT, value)
        accounts = await self.context.accounts()
        if number is None or number not in accounts:
            raise MethodError("accountNotFound", f"no account {value!r}")
        account = accounts[number]
        if not account.is_personal and self.capability not in (CORE, MAIL):
            raise MethodError(
                "accountNotSupportedByMethod", f"{self.capability} is not available in {value}"
            )
        return account

    async def account_id(self, args: dict[str, Any], key: str = "accountId") -> int:
        """The store id of the account ``args[key]`` names.

        Raises MethodError: ``invalidArguments`` when missing or not a string (never
        defaulted), ``accountNotFound`` when unknown or not accessible,
        ``accountNotSupportedByMethod`` when the account lacks the capability.
        """
        return (await self.account(args, key)).id

    async def mailbox_rights(self, account: int) -> dict[int, str] | None:
        """The user's rights per mailbox in ``account``: ``None`` means all rights on all
        mailboxes (its own account); otherwise only the listed mailboxes are visible."""
        accounts = await self.context.accounts()
        found = accounts.get(account)
        if found is None:
            raise MethodError("accountNotFound")
        return found.mailbox_rights

    async def require_writable(self, account: int) -> None:
        """``accountReadOnly`` when the user may not change anything in ``account``."""
        accounts = await self.context.accounts()
        found = accounts.get(account)
        if found is None:
            raise MethodError("accountNotFound")
        if found.read_only:
            raise MethodError("accountReadOnly")

    async def state(self, account: int) -> str:
        """The account's current state string (its change-log position)."""
        modseq = await self.kernel.store.backend.read(lambda ops: ops.current_modseq(account))
        return state_string(modseq)

    def resolve_creation_id(self, value: Any) -> Any:
        """``value`` with a ``#creationId`` reference replaced by the created id.

        RFC 8620 §5.3: an id of the form ``#x`` in a /set argument stands for the
        object created under creation id ``x`` earlier in the same request. An
        unknown reference is returned unchanged (the caller reports "not found").
        """
        if isinstance(value, str) and value.startswith("#"):
            return self.created_ids.get(value[1:], value)
        return value

    async def invoke(self, name: str, args: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Run another method as an implicit call of this one (RFC 8620 §3.4).

        Returns its responses; raises :class:`MethodError` like the method does. The
        method's capability need not be in ``using``.
        """
        spec = self.context.registry.methods.get(name)
        if spec is None:
            raise MethodError("serverFail", f"no method {name}")
        inner = Call(self.context, name, self.call_id, spec.capability)
        return as_responses(name, await spec.handler(inner, args))


def as_responses(name: str, result: Responses) -> list[tuple[str, dict[str, Any]]]:
    """A handler's result as a list of ``(name, arguments)`` responses."""
    if isinstance(result, dict):
        return [(name, result)]
    return list(result)
