"""The ``smtp`` plugin: SMTP server (MTA and submission roles) with local delivery.

Layout (STYLE.md §1.2): ``proto/`` the sans-IO protocol engine, ``stages/`` the
behaviour by dialogue stage, ``session.py`` the trio driver, ``delivery.py`` and
``trace.py`` local delivery, ``config.py`` the ``smtp`` section, ``plugin.py`` the
hooks. See ``docs/smtp.md``.
"""
