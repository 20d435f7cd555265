"""GETMETADATA and SETMETADATA (RFC 5464 §4.2, §4.3): METADATA and METADATA-SERVER.

Implementation notes:

* Mailbox annotations need ``l`` and one of ``r s w i p`` on the mailbox (RFC 5464
  §3.3); server annotations (mailbox ``""``) can always be read, and ``/shared``
  server entries are written by administrators only (RFC 5464 §3.3 allows the
  restriction: ``NO [NOPERM]``).
* The store enforces RFC 5464 §3.2's entry names (BAD otherwise), the value size
  (``NO [METADATA MAXSIZE n]``) and the entry count (``NO [METADATA TOOMANY]``), all
  or nothing (RFC 5464 §4.3).
* MAXSIZE leaves out longer values and reports the longest in ``[METADATA LONGENTRIES
  n]`` (RFC 5464 §4.2.1); DEPTH is passed to the store (RFC 5464 §4.2.2).
"""

from __future__ import annotations

from typing import Literal

from kernel.errors import StoreError
from kernel.store.metadata import MetadataTooLarge, TooManyEntries
from plugins.imap.context import Session
from plugins.imap.errors import CommandFailed, Done, bad, no, store_failure
from plugins.imap.notifier import metadata_changed
from plugins.imap.ops._common import account, resolve
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import GetMetadata, SetMetadata

__all__ = ["get_metadata", "set_metadata"]

_CONTENT_RIGHTS = frozenset("rswip")
_DEPTHS: dict[str, Literal[0, 1, "infinity"]] = {"0": 0, "1": 1, "infinity": "infinity"}


async def _target(session: Session, wire: str) -> tuple[str, int | None]:
    """The mailbox's name and store id, or ``("", None)`` for the server."""
    if wire == "":
        return "", None
    _, ref = await resolve(session, wire)
    assert ref.mailbox is not None
    if "l" not in ref.rights or not _CONTENT_RIGHTS & set(ref.rights):
        raise no("Permission denied", codes.NOPERM)
    return ref.name, ref.mailbox.id


async def get_metadata(session: Session, cmd: GetMetadata) -> Done:
    """RFC 5464 §4.2."""
    name, mailbox = await _target(session, cmd.mailbox)
    depth = _DEPTHS[cmd.depth]
    try:
        found = await session.store.metadata.get(
            account(session),
            mailbox,
            list(cmd.entries),
            depth=depth,
        )
    except ValueError:
        raise bad("Invalid entry name") from None
    except StoreError as exc:
        raise store_failure(exc) from exc
    longest = 0
    entries = []
    for entry, value in found.items():
        if cmd.maxsize is not None and len(value) > cmd.maxsize:
            longest = max(longest, len(value))
            continue
        entries.append((entry, value))
    if entries:
        await session.send(r.metadata(name, entries, utf8=session.utf8))
    if longest:
        return Done("GETMETADATA completed", b"METADATA LONGENTRIES %d" % longest)
    return Done("GETMETADATA completed")


async def set_metadata(session: Session, cmd: SetMetadata) -> Done:
    """RFC 5464 §4.3."""
    _, mailbox = await _target(session, cmd.mailbox)
    entries = dict(cmd.entries)
    if mailbox is None and any(e.lower().startswith("/shared") for e in entries):
        assert session.account is not None
        principal = await session.store.directory.principal(session.account)
        if principal is None or not principal.is_admin:
            raise no("Server annotations are set by administrators", codes.NOPERM)
    try:
        await session.store.metadata.set(account(session), mailbox, entries)
    except ValueError:
        raise bad("Invalid entry name") from None
    except MetadataTooLarge as exc:
        code = b"%s MAXSIZE %d" % (codes.METADATA.encode(), exc.limit)
        raise CommandFailed("NO", "Value too large", code) from None
    except TooManyEntries:
        code = codes.METADATA.encode() + b" TOOMANY"
        raise CommandFailed("NO", "Too many entries", code) from None
    except StoreError as exc:
        raise store_failure(exc) from exc
    metadata_changed(session, mailbox, entries)  # RFC 5465 §5.6, §5.7: NOTIFY
    return Done("SETMETADATA completed")
