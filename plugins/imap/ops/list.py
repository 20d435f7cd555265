"""LIST and LSUB (RFC 9051 §6.3.9; RFC 3501 §6.3.9), with LIST-EXTENDED (RFC 5258),
LIST-STATUS (RFC 5819) and SPECIAL-USE (RFC 6154).

Implementation notes:

* ``LIST "" ""`` answers the delimiter with a ``\\Noselect`` empty name (RFC 9051
  §6.3.9). Reference and pattern are joined as sent (:func:`plugins.imap.names.
  pattern_matcher`).
* ``\\HasChildren``/``\\HasNoChildren`` (RFC 3348, RFC 5258 §3.4) and the special-use
  attributes (RFC 6154 §2: allowed without being asked for) are always sent.
* Selection ``SUBSCRIBED`` lists only subscribed mailboxes and adds ``\\Subscribed``;
  with ``RECURSIVEMATCH`` a parent that is not itself listed but has a subscribed
  descendant comes with ``CHILDINFO ("SUBSCRIBED")`` (RFC 5258 §3.5). Since the store
  drops a mailbox's subscription with the mailbox, ``\\NonExistent`` never occurs.
* ``RETURN (STATUS (...))`` sends a STATUS line right after each selectable mailbox's
  LIST line (RFC 5819 §2), and none for ``\\Noselect`` ones.
* ``RETURN (METADATA (entries))`` (RFC 9590 §2) sends, right after the LIST line of
  each mailbox that matched the selection and exists, one METADATA response with
  every requested entry, ``NIL`` for those without a value (the RFC's example). A
  mailbox whose annotations the user may not read (RFC 5464 §3.3: ``l`` plus one of
  ``r s w i p``) gets none, as RFC 9590 §2 allows. MAXSIZE leaves longer values out
  and reports the longest in ``[METADATA LONGENTRIES n]`` as GETMETADATA does.
* LSUB (IMAP4rev1) lists the subscribed mailboxes matching the pattern; a parent
  matched by ``%`` that has subscribed children only is listed ``\\Noselect`` (RFC 3501
  §6.3.9).
"""

from __future__ import annotations

from kernel.errors import StoreError
from plugins.imap.context import Session
from plugins.imap.errors import Done, bad, store_failure
from plugins.imap.names import DELIMITER, MailboxRef, Tree, attributes, pattern_matcher
from plugins.imap.ops._common import account, load_tree
from plugins.imap.ops.mailbox import SUBSCRIBED_ENTRY
from plugins.imap.ops.status import status_response
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import List, ListMetadata, Lsub
from plugins.imap.proto.mutf7 import decode_mutf7

__all__ = ["list_", "lsub"]

# RFC 5464 §3.3: reading a mailbox's annotations needs one of these beside "l".
_CONTENT_RIGHTS = frozenset("rswip")


async def _subscribed(session: Session, tree: Tree) -> set[str]:
    """The names of the mailboxes the user subscribed to."""
    out = set()
    for ref in tree.all():
        if ref.mailbox is None:
            continue
        if ref.owner == session.account_id:
            if ref.mailbox.subscribed:
                out.add(ref.name)
            continue
        try:
            found = await session.store.metadata.get(
                account(session), ref.mailbox.id, [SUBSCRIBED_ENTRY]
            )
        except StoreError:
            continue
        if found:
            out.add(ref.name)
    return out


def _pattern(session: Session, value: str) -> str:
    if session.utf8:
        return value
    try:
        return decode_mutf7(value)
    except ValueError:
        raise bad("Invalid mailbox pattern") from None


async def list_(session: Session, cmd: List) -> Done:
    """RFC 9051 §6.3.9 and RFC 5258."""
    if cmd.recursive_match and not (cmd.subscribed or cmd.special_use):
        raise bad("RECURSIVEMATCH needs another selection option")  # RFC 5258 §3.1
    reference = _pattern(session, cmd.reference)
    patterns = [_pattern(session, p) for p in cmd.patterns]
    if patterns == [""]:
        await session.send(r.list_mailbox(["\\Noselect"], DELIMITER, "", utf8=session.utf8))
        return Done("LIST completed")
    tree = await load_tree(session)
    matchers = [pattern_matcher(reference, p) for p in patterns]
    want_subscribed = cmd.subscribed or cmd.return_subscribed
    subscribed = await _subscribed(session, tree) if want_subscribed else set()
    out: list[bytes] = []
    longest = 0
    for ref in tree.all():
        if not any(m.fullmatch(ref.name) for m in matchers):
            continue
        extended: list[tuple[str, bytes]] = []
        matched = True
        if cmd.subscribed and ref.name not in subscribed:
            if cmd.recursive_match and any(s.startswith(ref.name + DELIMITER) for s in subscribed):
                extended.append(("CHILDINFO", r.plist([r.quoted("SUBSCRIBED")])))
                matched = False  # listed for its children only: no METADATA (RFC 9590 §3)
            else:
                continue
        if cmd.special_use and ref.special_use is None:
            continue
        attrs = attributes(tree, ref)
        if want_subscribed and ref.name in subscribed:
            attrs.append("\\Subscribed")
        out.append(r.list_mailbox(attrs, DELIMITER, ref.name, utf8=session.utf8, extended=extended))
        if cmd.return_status is not None and ref.mailbox is not None and "r" in ref.rights:
            out.append(await _status(session, ref, cmd))
        if cmd.return_metadata is not None and matched and ref.mailbox is not None:
            line, skipped = await _metadata(session, ref, cmd.return_metadata)
            longest = max(longest, skipped)
            if line:
                out.append(line)
    await session.send(*out)
    if longest:
        return Done("LIST completed", b"METADATA LONGENTRIES %d" % longest)
    return Done("LIST completed")


async def _metadata(session: Session, ref: MailboxRef, wanted: ListMetadata) -> tuple[bytes, int]:
    """The METADATA line for ``ref`` (empty if the user may not read its annotations)
    and the length of the longest value MAXSIZE left out (0 if none)."""
    assert ref.mailbox is not None
    if "l" not in ref.rights or not _CONTENT_RIGHTS & set(ref.rights):
        return b"", 0
    try:
        found = await session.store.metadata.get(
            account(session), ref.mailbox.id, list(wanted.entries)
        )
    except ValueError:
        raise bad("Invalid entry name") from None
    except StoreError as exc:
        raise store_failure(exc) from exc
    longest = 0
    entries: list[tuple[str, bytes | None]] = []
    for entry in wanted.entries:
        value = found.get(entry.lower())
        if value is not None and wanted.maxsize is not None and len(value) > wanted.maxsize:
            longest = max(longest, len(value))
            continue
        entries.append((entry, value))
    if not entries:
        return b"", longest
    return r.metadata(ref.name, entries, utf8=session.utf8), longest


async def _status(session: Session, ref: MailboxRef, cmd: List) -> bytes:
    assert cmd.return_status is not None
    return await status_response(session, ref, cmd.return_status)


async def lsub(session: Session, cmd: Lsub) -> Done:
    """RFC 3501 §6.3.9."""
    reference = _pattern(session, cmd.reference)
    pattern = _pattern(session, cmd.pattern)
    if pattern == "":
        await session.send(
            r.list_mailbox(["\\Noselect"], DELIMITER, "", utf8=session.utf8, command="LSUB")
        )
        return Done("LSUB completed")
    tree = await load_tree(session)
    subscribed = await _subscribed(session, tree)
    matcher = pattern_matcher(reference, pattern)
    out = []
    for ref in tree.all():
        if not matcher.fullmatch(ref.name):
            continue
        if ref.name in subscribed:
            attrs = [a for a in attributes(tree, ref) if a != "\\Noselect"]
        elif any(s.startswith(ref.name + DELIMITER) for s in subscribed) and "%" in pattern:
            attrs = ["\\Noselect"]
        else:
            continue
        out.append(r.list_mailbox(attrs, DELIMITER, ref.name, utf8=session.utf8, command="LSUB"))
    await session.send(*out)
    return Done("LSUB completed")
