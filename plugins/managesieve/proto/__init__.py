"""The sans-IO side of ManageSieve: bytes in, commands out; responses back to bytes.

Nothing here imports trio, touches a socket, a clock or the store
(STYLE.md §1.4); the driver in :mod:`plugins.managesieve.session` does.
"""
