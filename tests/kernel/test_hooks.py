"""One test per hook with throwaway plugins (the meta-tests require ``test_hook_<name>``).

``stalwart_register_protocols``, ``stalwart_mount_http`` and
``stalwart_connection_closed`` are exercised in ``tests/kernel/net``;
``stalwart_register_commands`` in ``test_process.py`` (it needs an installed
distribution, since the CLI discovers commands through entry points).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

import kernel
from kernel import (
    AuthResult,
    BackendSpec,
    ConfigError,
    Credentials,
    Kernel,
    Option,
    PluginError,
    Section,
)
from kernel.testing import listener_address, run_kernel, write_config
from kernel.testing.echo import plugin as echo

ECHO = {"listeners": {"e": {"bind": "127.0.0.1:0", "protocol": "echo"}}}


def make_kernel(
    tmp_path: Path,
    plugins: dict[str, object],
    config: dict[str, Any],
    names: list[str] | None = None,
) -> Kernel:
    write_config(tmp_path / "conf", config)
    return Kernel(
        data_dir=tmp_path / "var",
        layers=[tmp_path / "conf"],
        environ={},
        plugins=names if names is not None else list(plugins),
        extra_plugins=plugins,
    )


class DemoSections:
    @kernel.hookimpl
    def stalwart_register_config_sections(self) -> list[Section]:
        return [
            Section(
                "demo",
                "A demo section.",
                (
                    Option("greeting", "string", "hello", "Greeting."),
                    Option("limits.timeout", "duration", "1m", "A nested duration."),
                ),
            )
        ]


def test_hook_stalwart_register_config_sections(tmp_path: Path) -> None:
    k = make_kernel(tmp_path, {"demo": DemoSections()}, {"demo": {"limits": {"timeout": "2h"}}})
    assert k.config["demo"]["greeting"] == "hello"
    assert k.config["demo"]["limits"]["timeout"] == 7200.0
    with pytest.raises(ConfigError) as info:
        make_kernel(tmp_path, {"demo": DemoSections()}, {"demo": {"greting": "typo"}})
    assert "demo.greting: unknown key" in str(info.value)


def test_config_section_of_unloaded_plugin_is_a_warning(tmp_path: Path) -> None:
    k = make_kernel(tmp_path, {"demo": DemoSections()}, {"demo": {"greeting": "x"}}, names=[])
    assert "demo" not in k.config
    assert any("plugin demo, which is not loaded" in str(w) for w in k.config.warnings)


def test_config_section_claimed_twice_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="section 'demo' of plugin"):
        make_kernel(tmp_path, {"demo": DemoSections(), "demo2": DemoSections()}, {})


class MemoryStore:
    """A store backend that records its lifecycle."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @asynccontextmanager
    async def open(self, k: Kernel) -> AsyncIterator[dict[str, str]]:
        self.events.append("open")
        try:
            yield {"kind": "memory-store"}
        finally:
            self.events.append("close")

    @kernel.hookimpl
    def stalwart_register_backends(self) -> list[BackendSpec]:
        return [BackendSpec(kind="store", name="memory", open=self.open)]


class NeedsStore:
    @kernel.hookimpl
    def stalwart_required_backends(self) -> list[str]:
        return ["store"]


async def test_hook_stalwart_register_backends(tmp_path: Path) -> None:
    store = MemoryStore()
    plugins = {"needy": NeedsStore(), "memstore": store, "echo": echo}
    config = {**ECHO, "store": {"backend": "memory"}}
    async with run_kernel(tmp_path, plugins=plugins, config=config, names=["needy", "echo"]) as k:
        assert k.backend("store") == {"kind": "memory-store"}
        assert store.events == ["open"]
        assert k.events.statistics().subscribers == 0  # the built-in local bus is open too
    assert store.events == ["open", "close"]


def test_hook_stalwart_required_backends(tmp_path: Path) -> None:
    # The configured store backend's plugin is loaded although not selected.
    k = make_kernel(
        tmp_path,
        {"needy": NeedsStore(), "memstore": MemoryStore()},
        {"store": {"backend": "memory"}},
        names=["needy"],
    )
    assert k.plugin_names == ("needy", "memstore")
    assert k.backend_names == {"events": "local", "store": "memory"}
    # Nobody provides a "nosuch" store: start fails and says so.
    with pytest.raises(
        PluginError, match="no installed plugin provides the store backend 'nosuch'"
    ):
        make_kernel(
            tmp_path, {"needy": NeedsStore()}, {"store": {"backend": "nosuch"}}, names=["needy"]
        )
    # The default store backend, sqlite, is found among installed plugins and loaded.
    k = make_kernel(tmp_path, {"needy": NeedsStore()}, {}, names=["needy"])
    # ... and the blob backend it requires in turn.
    assert k.plugin_names == ("needy", "store_sqlite", "blob_fs")


class RequiresHostname:
    @kernel.hookimpl
    def stalwart_config_validate(self, config: kernel.Config) -> list[kernel.Diagnostic]:
        if config["server"]["hostname"] is None:
            return [config.diagnostic("server.hostname", "must be set for this plugin")]
        return []


async def test_hook_stalwart_config_validate(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"server\.hostname: must be set"):
        make_kernel(tmp_path, {"strict": RequiresHostname()}, {})
    config = {**ECHO, "server": {"hostname": "mx.example.org"}}
    plugins = {"strict": RequiresHostname(), "echo": echo}
    async with run_kernel(tmp_path, plugins=plugins, config=config) as k:
        (tmp_path / "conf" / "60-drop.yaml").write_text("server:\n  hostname: null\n")
        result = await k.reload()
        assert not result.ok
        assert k.hostname == "mx.example.org"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Any] = []


class ConfigWatcher(Recorder):
    @kernel.hookimpl
    def stalwart_config_changed(self, kernel: Kernel, old: kernel.Config, new: kernel.Config):
        async def changed() -> None:
            await trio.lowlevel.checkpoint()
            self.calls.append(
                (
                    old["server"]["shutdown_timeout"],
                    new["server"]["shutdown_timeout"],
                    kernel.config is new,
                )
            )

        return changed


async def test_hook_stalwart_config_changed(tmp_path: Path) -> None:
    watcher = ConfigWatcher()
    async with run_kernel(tmp_path, plugins={"w": watcher, "echo": echo}, config=ECHO) as k:
        (tmp_path / "conf" / "60.yaml").write_text("server: {shutdown_timeout: 9s}\n")
        assert (await k.reload()).ok
        assert watcher.calls == [(5.0, 9.0, True)]
        (tmp_path / "conf" / "60.yaml").write_text("server: {shutdown_timeout: nope}\n")
        assert not (await k.reload()).ok
        assert len(watcher.calls) == 1  # not told about a refused reload


class Service(Recorder):
    @kernel.hookimpl
    def stalwart_startup(self, kernel: Kernel):
        async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            self.calls.append(("started", len(kernel.listeners)))
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self.calls.append(("cancelled", kernel.draining))

        return run

    @kernel.hookimpl
    def stalwart_shutdown(self, kernel: Kernel):
        async def stop() -> None:
            await trio.lowlevel.checkpoint()
            self.calls.append(("shutdown", kernel.draining))

        return stop


async def test_hook_stalwart_startup(tmp_path: Path) -> None:
    service = Service()
    async with run_kernel(tmp_path, plugins={"svc": service, "echo": echo}, config=ECHO):
        # Started before listeners were committed, and still running.
        assert service.calls == [("started", 0)]
    assert service.calls == [("started", 0), ("shutdown", True), ("cancelled", True)]


class FailingService:
    @kernel.hookimpl
    def stalwart_startup(self, kernel: Kernel):
        async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            raise RuntimeError("cannot start")

        return run


async def test_startup_failure_fails_run_and_unbinds(tmp_path: Path) -> None:
    k = make_kernel(tmp_path, {"bad": FailingService(), "echo": echo}, ECHO)
    with pytest.RaisesGroup(
        pytest.RaisesExc(RuntimeError, match="cannot start"), flatten_subgroups=True
    ):
        await k.run()
    assert len(k.listeners) == 0


async def test_hook_stalwart_shutdown(tmp_path: Path) -> None:
    service = Service()
    async with run_kernel(tmp_path, plugins={"svc": service, "echo": echo}, config=ECHO) as k:
        client = await trio.open_tcp_stream(*listener_address(k, "e"))
        assert (await client.receive_some(100)).startswith(b"+OK")
        k.request_stop()
        # The shutdown hook waits for live sessions: it has not run yet.
        with trio.fail_after(5):
            while not k.draining:
                await trio.sleep(0.01)
        assert ("shutdown", True) not in service.calls
        await client.send_all(b"QUIT\r\n")
        await client.aclose()
    assert ("shutdown", True) in service.calls


class Directory:
    def __init__(self, users: dict[str, str], name: str) -> None:
        self.users, self.name = users, name

    @kernel.hookimpl
    def stalwart_authenticate(self, kernel: Kernel, credentials: Credentials):
        async def check() -> AuthResult | None:
            await trio.lowlevel.checkpoint()
            if credentials.username not in self.users:
                return None  # not ours: ask the next directory
            ok = self.users[credentials.username] == credentials.secret
            return AuthResult(ok=ok, account=f"{self.name}:{credentials.username}")

        return check


async def test_hook_stalwart_authenticate(tmp_path: Path) -> None:
    plugins = {
        "ldap": Directory({"ann": "pw1"}, "ldap"),
        "local": Directory({"bob": "pw2"}, "local"),
    }
    k = make_kernel(tmp_path, plugins, {})

    def creds(user: str, secret: str) -> Credentials:
        return Credentials(
            kind="password", username=user, secret=secret, protocol="imap", remote="127.0.0.1"
        )

    assert await k.authenticate(creds("ann", "pw1")) == AuthResult(ok=True, account="ldap:ann")
    assert await k.authenticate(creds("bob", "pw2")) == AuthResult(ok=True, account="local:bob")
    assert (await k.authenticate(creds("bob", "bad"))).ok is False
    unknown = await k.authenticate(creds("eve", "x"))
    assert unknown.ok is False and unknown.account is None
    assert "pw1" not in repr(creds("ann", "pw1"))


class NotAsync:
    @kernel.hookimpl
    def stalwart_authenticate(self, kernel: Kernel, credentials: Credentials):
        return lambda: AuthResult(ok=True)


async def test_async_hook_rejects_plain_values(tmp_path: Path) -> None:
    k = make_kernel(tmp_path, {"sync": NotAsync()}, {})
    with pytest.raises(PluginError, match="did not give a coroutine"):
        await k.authenticate(
            Credentials(kind="password", username="a", secret="b", protocol="imap", remote="::1")
        )


# --------------------------------------------------------------------------
# Delivery pipeline (kernel.pipeline.run_stage; end to end in tests/plugins/smtp)
# --------------------------------------------------------------------------

SESSION = kernel.SessionInfo(
    id="c1",
    protocol="smtp",
    listener="mta",
    role="mta",
    remote=("192.0.2.1", 40000),
    local=("198.51.100.1", 25),
)
ENVELOPE = kernel.Envelope(queue_id="Q1", sender="carol@remote.example")


class Stage:
    """A pipeline plugin answering every stage with ``verdict`` and recording calls."""

    def __init__(self, name: str, verdict: kernel.Verdict | None, calls: list[str]) -> None:
        self.name, self.verdict, self.calls = name, verdict, calls

    def _answer(self, stage: str):
        async def answer() -> kernel.Verdict | None:
            await trio.lowlevel.checkpoint()
            self.calls.append(f"{self.name}:{stage}")
            return self.verdict

        return answer

    @kernel.hookimpl
    def stalwart_inbound_connect(self, kernel: Kernel, session: kernel.SessionInfo):
        return self._answer("connect")

    @kernel.hookimpl
    def stalwart_inbound_ehlo(self, kernel: Kernel, session: kernel.SessionInfo, helo: str):
        return self._answer(f"ehlo={helo}")

    @kernel.hookimpl
    def stalwart_inbound_mail(self, kernel, session, envelope):
        return self._answer(f"mail={envelope.sender}")

    @kernel.hookimpl
    def stalwart_inbound_rcpt(self, kernel, session, envelope, recipient):
        return self._answer(f"rcpt={recipient}")

    @kernel.hookimpl
    def stalwart_inbound_data(self, kernel, session, envelope, message):
        return self._answer(f"data={len(message)}")

    @kernel.hookimpl
    def stalwart_before_delivery(self, kernel, session, envelope, delivery, message):
        return self._answer(f"deliver={delivery.mailbox}")


def pipeline(tmp_path: Path, *verdicts: kernel.Verdict | None) -> tuple[Kernel, list[str]]:
    """A kernel whose plugins p0, p1... answer ``verdicts``; p0 is called first."""
    calls: list[str] = []
    plugins = {f"p{n}": Stage(f"p{n}", v, calls) for n, v in enumerate(verdicts)}
    # pluggy calls the last registered first: register in reverse so p0 runs first.
    return make_kernel(tmp_path, dict(reversed(plugins.items())), {}), calls


async def test_hook_stalwart_inbound_connect(tmp_path: Path) -> None:
    from kernel.pipeline import run_stage

    k, calls = pipeline(tmp_path, None, kernel.Verdict.reject("go away", code=554), None)
    verdict = await run_stage(k.pm.hook.stalwart_inbound_connect, kernel=k, session=SESSION)
    # The first refusal ends the stage: p2 is never awaited.
    assert verdict == kernel.Verdict.reject("go away", code=554)
    assert calls == ["p0:connect", "p1:connect"]


async def test_hook_stalwart_inbound_ehlo(tmp_path: Path) -> None:
    from kernel.pipeline import run_stage

    k, calls = pipeline(tmp_path, None, None)
    verdict = await run_stage(
        k.pm.hook.stalwart_inbound_ehlo, kernel=k, session=SESSION, helo="client.example"
    )
    assert verdict == kernel.Verdict.accept()  # no opinions: accepted
    assert calls == ["p0:ehlo=client.example", "p1:ehlo=client.example"]


async def test_hook_stalwart_inbound_mail(tmp_path: Path) -> None:
    from kernel.pipeline import run_stage

    tempfail = kernel.Verdict.tempfail("greylisted", code=451, status="4.7.1")
    k, calls = pipeline(tmp_path, kernel.Verdict.accept(add_headers=(("X-A", "1"),)), tempfail)
    verdict = await run_stage(
        k.pm.hook.stalwart_inbound_mail, kernel=k, session=SESSION, envelope=ENVELOPE
    )
    assert verdict == tempfail and verdict.refused
    assert calls == ["p0:mail=carol@remote.example", "p1:mail=carol@remote.example"]


async def test_hook_stalwart_inbound_rcpt(tmp_path: Path) -> None:
    from kernel.pipeline import run_stage

    first = kernel.Verdict.accept(add_headers=(("X-A", "1"),), remove_headers=("X-Old",))
    second = kernel.Verdict.accept(add_headers=(("X-B", "2"),), remove_headers=("X-Old", "X-Z"))
    k, _ = pipeline(tmp_path, first, second)
    verdict = await run_stage(
        k.pm.hook.stalwart_inbound_rcpt,
        kernel=k,
        session=SESSION,
        envelope=ENVELOPE,
        recipient="ann@example.org",
    )
    # Header edits accumulate in plugin order.
    assert verdict.add_headers == (("X-A", "1"), ("X-B", "2"))
    assert verdict.remove_headers == ("X-Old", "X-Z")
    assert verdict.action is kernel.VerdictAction.ACCEPT


async def test_hook_stalwart_inbound_data(tmp_path: Path) -> None:
    from kernel.pipeline import run_stage

    quarantine = kernel.Verdict.quarantine("spam score 9", add_headers=(("X-Spam", "yes"),))
    k, calls = pipeline(tmp_path, quarantine, kernel.Verdict.accept(add_headers=(("X-B", "2"),)))
    verdict = await run_stage(
        k.pm.hook.stalwart_inbound_data,
        kernel=k,
        session=SESSION,
        envelope=ENVELOPE,
        message=b"Subject: x\r\n\r\n",
    )
    # A quarantine is not a refusal: later plugins still run, and it sticks.
    assert verdict.action is kernel.VerdictAction.QUARANTINE and verdict.text == "spam score 9"
    assert verdict.add_headers == (("X-Spam", "yes"), ("X-B", "2"))
    assert calls == ["p0:data=14", "p1:data=14"]


async def test_hook_stalwart_before_delivery(tmp_path: Path) -> None:
    from kernel.pipeline import run_stage

    target = kernel.DeliveryTarget("ann+x@example.org", "ann@example.org", 7)
    k, calls = pipeline(
        tmp_path, kernel.Verdict.accept(mailbox="Lists"), kernel.Verdict.accept(mailbox="Other")
    )
    verdict = await run_stage(
        k.pm.hook.stalwart_before_delivery,
        kernel=k,
        session=SESSION,
        envelope=ENVELOPE,
        delivery=target,
        message=b"",
    )
    assert verdict.filings == (kernel.Filing("Lists"),)  # the first plugin to choose wins
    assert calls == ["p0:deliver=INBOX", "p1:deliver=INBOX"]


class BadVerdict:
    @kernel.hookimpl
    def stalwart_inbound_data(self, kernel, session, envelope, message):
        async def answer() -> str:
            return "reject"

        return answer


async def test_pipeline_hooks_are_strict(tmp_path: Path) -> None:
    from kernel.pipeline import run_stage

    k = make_kernel(tmp_path, {"bad": BadVerdict()}, {})
    with pytest.raises(PluginError, match="expected a Verdict or None"):
        await run_stage(
            k.pm.hook.stalwart_inbound_data,
            kernel=k,
            session=SESSION,
            envelope=ENVELOPE,
            message=b"",
        )
    k = make_kernel(tmp_path / "2", {"sync": NotAsyncStage()}, {})
    with pytest.raises(PluginError, match="did not give a coroutine"):
        await run_stage(k.pm.hook.stalwart_inbound_connect, kernel=k, session=SESSION)


class NotAsyncStage:
    @kernel.hookimpl
    def stalwart_inbound_connect(self, kernel, session):
        return lambda: None  # a plain call, not a coroutine


@pytest.mark.parametrize(
    "build",
    [
        lambda: kernel.Verdict.reject("x", code=450, status="4.7.1"),
        lambda: kernel.Verdict.reject("x", code=550, status="4.7.1"),
        lambda: kernel.Verdict.tempfail("x", code=550, status="5.7.1"),
        lambda: kernel.Verdict.reject("two\r\nlines"),
        lambda: kernel.Verdict.accept(add_headers=(("Bad Name", "v"),)),
        lambda: kernel.Verdict.accept(add_headers=(("X-Ok", "v\r\nInjected: 1"),)),
        lambda: kernel.Verdict.accept(remove_headers=("Received",)),
        lambda: kernel.Verdict(kernel.VerdictAction.ACCEPT, code=250),
    ],
)
def test_pipeline_verdicts_check_themselves(build) -> None:
    with pytest.raises(ValueError):
        build()
