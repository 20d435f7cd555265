"""Core/echo (RFC 8620 §4): the arguments come back unchanged."""

from __future__ import annotations

from typing import Any

from plugins.jmap.capabilities import CORE
from plugins.jmap.methods import Call, register

__all__ = ["core_echo"]


@register("Core/echo", CORE)
async def core_echo(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Return ``args`` as they are."""
    del call
    return args
