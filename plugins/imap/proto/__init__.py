"""IMAP's grammar and wire format, sans-IO: no trio, no store, no clock (STYLE.md §1.2)."""
