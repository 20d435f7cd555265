"""APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502), UIDPLUS's APPENDUID (RFC
4315 §3), literal8 (RFC 3516 §4.4) and ``UTF8 (...)`` (RFC 6855 §4).

Implementation notes:

* A target that does not exist is ``NO [TRYCREATE]`` (RFC 9051 §6.3.12); appending
  needs the ``i`` right (RFC 4314 §4). Over quota is ``NO [OVERQUOTA]``; an empty
  message is ``NO``.
* The size limit (APPENDLIMIT, RFC 7889) is the receiver's literal limit: a bigger
  literal never reaches this op (``BAD [TOOBIG]``).
* MULTIAPPEND is all or nothing (RFC 3502 §3): each message is one store append, and
  if one fails the ones already stored are destroyed before the NO. A concurrent
  session may glimpse them in between (deviation(RFC 3502 §3): the store has no
  multi-message append yet).
* The OK carries ``[APPENDUID uidvalidity uids]``; if the target is selected, the
  dispatcher's update after the command announces the new messages (EXISTS).
"""

from __future__ import annotations

from kernel.errors import StoreError
from plugins.imap.context import Session
from plugins.imap.errors import Done, bad, no, store_failure
from plugins.imap.flags import RECENT, flag_to_keyword
from plugins.imap.ops._common import need_right, resolve
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Append, AppendMessage
from plugins.imap.proto.sequence import SequenceSet

__all__ = ["append"]


def _keywords(message: AppendMessage) -> list[str]:
    out = []
    for flag in message.flags:
        if flag.lower() == RECENT.lower():
            continue
        try:
            out.append(flag_to_keyword(flag))
        except ValueError:
            raise bad(f"Cannot store {flag}") from None
    return out


async def append(session: Session, cmd: Append) -> Done:
    """RFC 9051 §6.3.12; RFC 3502 §6."""
    for message in cmd.messages:
        if message.utf8 and "UTF8=ACCEPT" not in session.enabled:
            raise bad("UTF8 literals need ENABLE UTF8=ACCEPT")  # RFC 6855 §4
        if not message.data:
            raise no("Empty message", codes.CANNOT)
        if len(message.data) > session.config.append_limit:
            raise no("Message too big", codes.TOOBIG)
    _, ref = await resolve(session, cmd.mailbox, missing=codes.TRYCREATE)
    need_right(ref, "i")
    box = ref.mailbox
    assert box is not None
    prepared = [(m, _keywords(m)) for m in cmd.messages]
    stored: list[tuple[int, int]] = []
    try:
        for message, keywords in prepared:
            when = message.internal_date.timestamp() if message.internal_date else None
            result = await session.store.emails.append(
                ref.owner, message.data, [box.id], keywords=keywords, received_at=when
            )
            stored.append((result.email, result.uids[box.id]))
    except (StoreError, ValueError) as exc:
        if stored:
            await session.store.emails.destroy(ref.owner, [email for email, _ in stored])
        if isinstance(exc, ValueError):
            raise bad("Invalid flag") from None
        raise store_failure(exc) from exc
    uids = SequenceSet.of(uid for _, uid in stored)
    return Done("APPEND completed", r.code_appenduid(box.uidvalidity, uids))
