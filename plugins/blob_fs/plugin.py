"""Hooks of the ``blob_fs`` plugin: the ``fs`` blob backend and its options.

The kernel loads this plugin only when a loaded plugin requires the ``blob``
backend kind and ``blob.backend`` is ``fs`` (the default). Periodic garbage
collection needs the store's reference counts, so the store integration
schedules :meth:`~plugins.blob_fs.store.FsBlobStore.collect_garbage`; this
plugin only supplies its default grace period.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from kernel import BackendSpec, Kernel, Option, Section, hookimpl
from plugins.blob_fs.store import FsBlobStore


@hookimpl
def stalwart_register_config_sections() -> list[Section]:
    return [
        Section(
            "blob_fs",
            "Content-addressed blob files (blob.backend: fs).",
            (
                Option(
                    "path",
                    "string",
                    "blobs",
                    "Blob directory; relative paths are under the data directory. "
                    "It must be one filesystem, with its tmp/ subdirectory.",
                    reloadable=False,
                ),
                Option(
                    "gc_grace",
                    "duration",
                    "1h",
                    "Blobs written or reused within this period are never garbage-collected, "
                    "referenced or not; it must exceed the longest write transaction.",
                    reloadable=False,
                ),
            ),
        )
    ]


@asynccontextmanager
async def _open(kernel: Kernel) -> AsyncIterator[FsBlobStore]:
    options = kernel.config["blob_fs"]
    path = Path(options["path"])
    if not path.is_absolute():
        path = kernel.data_dir / path
    store = await FsBlobStore.open(path, gc_grace=options["gc_grace"])
    try:
        yield store
    finally:
        await store.aclose()


@hookimpl
def stalwart_register_backends() -> list[BackendSpec]:
    return [BackendSpec(kind="blob", name="fs", open=_open)]
