"""The plugin manager's rules: validation, attribution, ordering, the async-callable helper."""

from __future__ import annotations

import pytest
import trio

import kernel
from kernel.errors import PluginError
from kernel.pluginmanager import (
    PluginCatalog,
    call_async_hook,
    collect,
    make_plugin_manager,
    selected_names,
)
from kernel.specs import ProtocolSpec


class Misnamed:
    @kernel.hookimpl
    def stalwart_no_such_hook(self) -> None:
        """A typo in a hook name must fail at load, not be silently ignored."""


class WrongArgs:
    @kernel.hookimpl
    def stalwart_startup(self, kernel, extra) -> None:
        """An argument the spec does not have."""


def test_pluginmanager_rejects_unknown_hook() -> None:
    with pytest.raises(PluginError, match="stalwart_no_such_hook"):
        make_plugin_manager({"typo": Misnamed()})


def test_pluginmanager_rejects_unknown_argument() -> None:
    with pytest.raises(PluginError, match="typo-args"):
        make_plugin_manager({"typo-args": WrongArgs()})


def test_pluginmanager_managers_are_independent() -> None:
    a = make_plugin_manager({"p1": One()})
    b = make_plugin_manager({})
    assert a.get_plugin("p1") is not None and b.get_plugin("p1") is None


async def _serve(conn: kernel.Connection) -> None:
    await trio.lowlevel.checkpoint()


class One:
    @kernel.hookimpl
    def stalwart_register_protocols(self) -> list[ProtocolSpec]:
        return [ProtocolSpec(name="one", serve=_serve)]


def test_collect_attributes_items_to_plugins() -> None:
    pm = make_plugin_manager({"p1": One()})
    pairs = [(plugin, spec.name) for plugin, spec in collect(pm, "stalwart_register_protocols")]
    assert pairs == [("p1", "one"), ("kernel.builtin", "http")]


def test_selected_names_prefers_cli_and_dedupes() -> None:
    assert selected_names(["a", " b", "a", ""], ["c"]) == ["a", "b"]
    assert selected_names(None, ["c", "c"]) == ["c"]
    assert selected_names([], ["c"]) == []


def test_catalog_unknown_name_lists_installed() -> None:
    catalog = PluginCatalog({"mine": One()})
    with pytest.raises(PluginError, match=r"is not installed \(installed plugins: .*mine"):
        catalog.load("theirs")


class Order:
    def __init__(self, name: str, calls: list[str], result: object = None) -> None:
        self.name, self.calls, self.result = name, calls, result

    @kernel.hookimpl
    def stalwart_authenticate(self, kernel, credentials):
        async def run() -> object:
            await trio.lowlevel.checkpoint()
            self.calls.append(self.name)
            return self.result

        return run


async def test_call_async_hook_awaits_in_plugin_order() -> None:
    calls: list[str] = []
    pm = make_plugin_manager({"first": Order("first", calls), "second": Order("second", calls)})
    results = await call_async_hook(
        pm.hook.stalwart_authenticate, first=False, kernel=None, credentials=None
    )
    # pluggy calls the last registered first.
    assert calls == ["second", "first"]
    assert results == [None, None]


async def test_call_async_hook_stops_at_first_result() -> None:
    calls: list[str] = []
    pm = make_plugin_manager({"a": Order("a", calls, "from a"), "b": Order("b", calls, "from b")})
    assert (
        await call_async_hook(pm.hook.stalwart_authenticate, kernel=None, credentials=None)
        == "from b"
    )
    assert calls == ["b"]


class NotCallable:
    @kernel.hookimpl
    def stalwart_authenticate(self, kernel, credentials):
        return "not a callable"


async def test_call_async_hook_rejects_non_callables() -> None:
    pm = make_plugin_manager({"bad": NotCallable()})
    with pytest.raises(PluginError, match="must return an async callable or None"):
        await call_async_hook(pm.hook.stalwart_authenticate, kernel=None, credentials=None)
