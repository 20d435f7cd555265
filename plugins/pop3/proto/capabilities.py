"""The CAPA list (RFC 2449 §5, §6), built from what the session allows now.

The driver decides the inputs (TLS state, configuration, session state);
this module only spells them. RFC 2449 §5: capabilities available in
AUTHORIZATION are announced in both states, so the list differs between the
states only where the RFCs say so (STLS).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["capability_lines"]


def capability_lines(
    *,
    user: bool,
    mechanisms: Sequence[str],
    stls: bool,
    login_delay: int,
    expire: str,
    implementation: str,
) -> list[str]:
    """The capability lines, in the order of RFC 2449 §6.

    Args:
        user: USER/PASS may be used now (RFC 2449 §6.2; not without TLS unless
            configured, RFC 2595 §2.3).
        mechanisms: SASL mechanisms usable now (RFC 5034 §3: listed even after AUTH).
        stls: STLS is "present and permitted in the current state" (RFC 2595 §4).
        login_delay: seconds between logins (RFC 2449 §6.5), the same for every user.
        expire: ``NEVER`` or days (RFC 2449 §6.7), the same for every user.
        implementation: the IMPLEMENTATION value (RFC 2449 §6.9), empty to omit it.
    """
    # RFC 2449 §6.1, §6.8, §6.4, §6.6; AUTH-RESP-CODE: every credentials failure
    # carries [AUTH] (see codes.py).
    lines = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
    if user:
        lines.append("USER")
    if mechanisms:
        lines.append("SASL " + " ".join(mechanisms))
    if stls:
        lines.append("STLS")
    lines.append(f"LOGIN-DELAY {login_delay}")
    lines.append(f"EXPIRE {expire}")
    # RFC 6856 §2.2: UTF-8 user names and passwords are accepted (SASLprep-ed).
    lines.append("UTF8 USER")
    if implementation:
        lines.append(f"IMPLEMENTATION {implementation}")
    return lines
