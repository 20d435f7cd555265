"""The SMTP protocol without I/O (STYLE.md §1.2, §1.4): framing, grammar, replies, states.

:class:`~plugins.smtp.proto.engine.SmtpEngine` is the entry point; nothing in
this package imports trio or touches sockets, clocks or the store.
"""
