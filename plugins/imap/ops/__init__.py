"""IMAP command behaviour: one async function per command, ``(session, cmd) -> Done``.

Each module is named after the parser module of its commands (STYLE.md §1.2, §1.11).
An op sends its untagged data through ``session.send`` and returns
:class:`plugins.imap.errors.Done`, or raises :class:`plugins.imap.errors.CommandFailed`;
the dispatcher (:mod:`plugins.imap.dispatch`) writes the tagged line and the
unsolicited updates RFC 9051 §7 allows around it.
"""
