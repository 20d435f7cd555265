"""The ``blob_fs`` plugin in a kernel: opened only when a plugin needs blobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel import Kernel, KernelError, hookimpl
from kernel.testing import run_kernel, write_config
from plugins.blob_fs.store import FsBlobStore


class NeedsBlobs:
    """A throwaway plugin that requires the blob backend."""

    @hookimpl
    def stalwart_required_backends(self) -> list[str]:
        return ["blob"]


async def test_blob_fs_opened_when_a_plugin_requires_blob(tmp_path: Path) -> None:
    async with run_kernel(tmp_path, plugins={"needs_blobs": NeedsBlobs()}) as kernel:
        assert "blob_fs" in kernel.plugin_names
        store = kernel.backend("blob")
        assert isinstance(store, FsBlobStore)
        assert store.root == tmp_path / "var" / "blobs"
        assert store.gc_grace == 3600.0
        blob_id = await store.put(b"hello")
        assert (tmp_path / "var" / "blobs" / blob_id[:2] / blob_id[2:4] / blob_id).exists()


async def test_blob_fs_options(tmp_path: Path) -> None:
    config = {"blob_fs": {"path": str(tmp_path / "elsewhere"), "gc_grace": "2h"}}
    async with run_kernel(tmp_path, plugins={"needs_blobs": NeedsBlobs()}, config=config) as k:
        store = k.backend("blob")
        assert (store.root, store.gc_grace) == (tmp_path / "elsewhere", 7200.0)
        assert (tmp_path / "elsewhere" / "tmp").is_dir()


class NeedsNothing:
    """A throwaway plugin that requires no backend."""

    @hookimpl
    def stalwart_required_backends(self) -> list[str]:
        return []


async def test_blob_fs_not_loaded_when_nobody_needs_blobs(tmp_path: Path) -> None:
    async with run_kernel(tmp_path, plugins={"plain": NeedsNothing()}) as kernel:
        assert "blob_fs" not in kernel.plugin_names
        with pytest.raises(KernelError):
            kernel.backend("blob")
    assert not (tmp_path / "var" / "blobs").exists()


def test_blob_fs_packaged_defaults_still_start(tmp_path: Path) -> None:
    """``make run``'s configuration (plugins: [directory]) resolves and validates."""
    site = tmp_path / "site"
    write_config(site, {"listeners": {"http": None}})
    kernel = Kernel(data_dir=tmp_path / "var", config_dir=site, environ={}, system_config=False)
    assert "directory" in kernel.plugin_names
    assert "blob_fs" in kernel.plugin_names  # the SQLite store requires a blob backend
    assert not [w for w in kernel.config.warnings if "blob_fs" in str(w)]


def test_blob_fs_rejects_bad_options(tmp_path: Path) -> None:
    from kernel import ConfigError

    conf = tmp_path / "conf"
    write_config(conf, {"blob_fs": {"gc_grace": "soon", "nope": 1}})
    with pytest.raises(ConfigError) as failure:
        Kernel(
            data_dir=tmp_path / "var",
            layers=[conf],
            plugins=["needs_blobs"],
            extra_plugins={"needs_blobs": NeedsBlobs()},
            environ={},
        )
    text = str(failure.value)
    assert "gc_grace" in text and "nope" in text
