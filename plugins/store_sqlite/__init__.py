"""store_sqlite: the embedded default store (SQLite in WAL mode under the data directory)."""
