"""THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §3), sans-IO.

Both take the matching messages' :class:`plugins.imap.sorting.SortInfo` and return
the thread forest as ``(uid or None, children)`` nodes, ``None`` for a dummy parent
(:data:`plugins.imap.proto.responses.ThreadNode`, numbers still UIDs: the op maps them
to sequence numbers for THREAD).

Implementation notes: REFERENCES follows the six steps of RFC 5256 §3 in order;
Message-IDs are compared as the MIME parser normalised them (angle brackets and
quoting gone, case kept, RFC 5256 §3 "Message ID comparisons are case-sensitive").
Missing or duplicate Message-IDs get unique ones; links that would make a loop are
not made; sorting is by sent date then UID (RFC 5256 §2.2).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from plugins.imap.proto.responses import ThreadNode
from plugins.imap.sorting import SortInfo, base_subject, is_reply_or_forward

__all__ = ["ordered_subject", "references"]


def _order(info: SortInfo) -> tuple[float, int]:
    return info.sent, info.uid


def ordered_subject(infos: Sequence[SortInfo]) -> list[ThreadNode]:
    """RFC 5256 §3 ORDEREDSUBJECT: group by base subject, each group by sent date;
    the first message is the root, the others its children."""
    groups: dict[str, list[SortInfo]] = {}
    for info in sorted(infos, key=_order):
        key = base_subject(info.message.subject).upper()
        groups.setdefault(key, []).append(info)
    threads = sorted(groups.values(), key=lambda g: _order(g[0]))
    return [(g[0].uid, [(m.uid, []) for m in g[1:]]) for g in threads]


@dataclass(eq=False)
class _Node:
    info: SortInfo | None = None
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)

    def is_ancestor_of(self, other: _Node) -> bool:
        node: _Node | None = other
        while node is not None:
            if node is self:
                return True
            node = node.parent
        return False

    def unlink(self) -> None:
        if self.parent is not None:
            self.parent.children.remove(self)
            self.parent = None

    def link(self, child: _Node) -> None:
        child.unlink()
        child.parent = self
        self.children.append(child)

    def first(self) -> _Node:
        """The node itself, or for a dummy its first child (after sorting)."""
        return self if self.info is not None or not self.children else self.children[0]

    def sort_key(self) -> tuple[float, int]:
        info = self.first().info
        return _order(info) if info is not None else (0.0, 0)


def _references(info: SortInfo) -> list[str]:
    message = info.message
    if message.references:
        return list(message.references)
    return list(message.in_reply_to[:1])


def _build(infos: Sequence[SortInfo]) -> list[_Node]:
    """Steps 1 and 2: link by references; the nodes without a parent."""
    table: dict[str, _Node] = {}
    unique = 0

    def container(msg_id: str) -> _Node:
        node = table.get(msg_id)
        if node is None:
            node = table[msg_id] = _Node()
        return node

    for info in sorted(infos, key=lambda i: i.uid):
        own = info.message.message_id
        if own is None or (own in table and table[own].info is not None):
            unique += 1
            own = f"\0unique{unique}"
        node = container(own)
        node.info = info
        refs = [container(r) for r in _references(info)]
        for parent, child in itertools.pairwise(refs):  # step 1.A
            if child.parent is None and not child.is_ancestor_of(parent):
                parent.link(child)
        if refs:  # step 1.B
            last = refs[-1]
            if last is not node and not node.is_ancestor_of(last):
                last.link(node)
        elif node.parent is not None:
            node.unlink()
    return [n for n in table.values() if n.parent is None]


def _prune(nodes: list[_Node], top: bool) -> list[_Node]:
    """Step 3: drop empty dummies, promote children of dummies."""
    out: list[_Node] = []
    for node in nodes:
        node.children = _prune(node.children, False)
        for child in node.children:
            child.parent = node
        if node.info is not None:
            out.append(node)
        elif not node.children:
            continue
        elif top and len(node.children) > 1:
            out.append(node)  # not promoted to the root level
        else:
            for child in node.children:
                child.parent = None
            out.extend(node.children)
    return out


def _subject(node: _Node) -> str:
    info = node.first().info
    return base_subject(info.message.subject).upper() if info is not None else ""


def _reply(node: _Node) -> bool:
    return node.info is not None and is_reply_or_forward(node.info.message.subject)


def _merge(roots: list[_Node]) -> list[_Node]:
    """Step 5: gather root threads with the same base subject."""
    table: dict[str, _Node] = {}
    for node in roots:  # 5.B
        subject = _subject(node)
        if not subject:
            continue
        held = table.get(subject)
        if held is None or (
            held.info is not None and (node.info is None or (_reply(held) and not _reply(node)))
        ):
            table[subject] = node
    out: list[_Node] = []
    for node in roots:  # 5.C
        if node.parent is not None:
            continue  # merged into a thread already
        subject = _subject(node)
        held = table.get(subject) if subject else None
        if held is None or held is node:
            if node not in out:
                out.append(node)
            continue
        if held.info is None and node.info is None:
            for child in list(node.children):
                held.link(child)
        elif held.info is None or (_reply(node) and not _reply(held)):
            held.link(node)
        else:
            dummy = _Node()
            position = out.index(held) if held in out else len(out)
            if held in out:
                out.remove(held)
            dummy.link(held)
            dummy.link(node)
            out.insert(position, dummy)
            table[subject] = dummy
    return out


def _sort(nodes: list[_Node]) -> None:
    """Step 6: children before parents, each sibling set by sent date."""
    for node in nodes:
        _sort(node.children)
    nodes.sort(key=_Node.sort_key)


def _render(node: _Node) -> ThreadNode:
    return (node.info.uid if node.info else None, [_render(c) for c in node.children])


def references(infos: Sequence[SortInfo]) -> list[ThreadNode]:
    """RFC 5256 §3 REFERENCES."""
    roots = _prune(_build(infos), True)
    for node in roots:
        _sort(node.children)
    roots.sort(key=_Node.sort_key)  # step 4
    roots = _merge(roots)
    _sort(roots)
    return [_render(n) for n in roots]
