"""Listeners, connections, TLS and the PROXY protocol: the kernel's network layer."""
