"""The ``managesieve`` plugin: ManageSieve (RFC 5804) over the shared store and Sieve compiler.

Layout (STYLE.md §1.2): ``proto/`` is the sans-IO engine (framing with
literals, commands, state, responses, response codes); ``ops/`` has the
commands' behaviour (``connection``: CAPABILITY, STARTTLS, LOGOUT, NOOP;
``auth``: AUTHENTICATE, UNAUTHENTICATE; ``scripts``: the script commands);
``compile.py`` checks uploads with :mod:`plugins.sieve`; ``session.py`` is the
trio driver; ``config.py`` the ``managesieve`` section; ``plugin.py`` the
hooks; ``testing.py`` a small client. See ``docs/managesieve.md``.
"""
