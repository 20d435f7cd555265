"""blob_fs: the default blob backend (content-addressed files under the data directory).

See :mod:`plugins.blob_fs.store` for the API and ``docs/blob_fs.md`` for the
layout, the durability sequence and why the garbage collector is safe.
"""
