"""The ``pop3`` plugin: POP3 (RFC 1939) with CAPA, SASL, STLS and UTF8 over the shared store.

Layout (STYLE.md §1.2): ``proto/`` is the sans-IO engine (framing, commands,
state, replies, the maildrop view, dot-stuffing); ``ops/`` has one async
function per command; ``session.py`` is the trio driver; ``lease.py`` keeps
the maildrop lease alive; ``config.py`` the ``pop3`` section; ``plugin.py``
the hooks; ``testing.py`` a small transcript client. See ``docs/pop3.md``.
"""
