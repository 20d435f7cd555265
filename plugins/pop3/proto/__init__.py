"""The sans-IO side of POP3: bytes in, commands out; replies and message data back to bytes.

Nothing here imports trio, touches a socket, a clock or the store
(STYLE.md §1.4); the driver in :mod:`plugins.pop3.session` does.
"""
