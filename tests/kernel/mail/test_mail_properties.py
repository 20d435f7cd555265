"""Property tests for kernel.mail: generated MIME trees, mutations, arbitrary bytes.

(1) :func:`parse_message` never raises, and its offsets always nest; (2) a message built
from a generated tree parses back to exactly that tree and those leaf bodies; (3) the
stored JSON form round-trips.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.mail import Message, Part, from_json, parse_message, part_by_path, to_json, walk


@dataclass(frozen=True)
class Leaf:
    mime_type: str
    body: bytes


@dataclass(frozen=True)
class Multi:
    subtype: str
    boundary: str
    children: tuple[Node, ...]
    preamble: bytes
    epilogue: bytes


@dataclass(frozen=True)
class Encapsulated:
    subject: str
    inner: Node


Node = Leaf | Multi | Encapsulated

# Bodies never contain "-", so no delimiter can appear inside them, nor "\r", so a
# body's last byte cannot merge with the line break before a delimiter.
_BODY = st.lists(
    st.sampled_from([b"a", b"Z", b"0", b" ", b"\t", b"\n", b".", b"=", b"\xc3\xa9", b"\x00"]),
    max_size=40,
).map(b"".join)
_LEAF_TYPES = st.sampled_from(["text/plain", "text/html", "application/octet-stream", "image/png"])
# RFC 2046 §5.1.1 bchars, without "=" (which ends the unique suffix, see _boundary).
_BCHARS = "abcXYZ019'()+_,-./:?"


@st.composite
def _boundary(draw: st.DrawFn, index: int) -> str:
    # A fixed-width "=NNN=" suffix makes every boundary unique and none a prefix of another.
    prefix = draw(st.text(alphabet=_BCHARS, max_size=20))
    return f"{prefix}={index:03d}="


@st.composite
def trees(draw: st.DrawFn, max_depth: int = 4) -> Node:
    counter = [0]

    def node(depth: int) -> Node:
        kind = draw(
            st.sampled_from(["leaf", "multi", "message"] if depth < max_depth else ["leaf"])
        )
        if kind == "leaf":
            return Leaf(draw(_LEAF_TYPES), draw(_BODY))
        if kind == "message":
            return Encapsulated(
                draw(st.from_regex(r"[A-Za-z ]{0,12}", fullmatch=True)), node(depth + 1)
            )
        counter[0] += 1
        boundary = draw(_boundary(counter[0]))
        count = draw(st.integers(1, 4))
        children = tuple(node(depth + 1) for _ in range(count))
        return Multi(
            draw(st.sampled_from(["mixed", "alternative", "related"])),
            boundary,
            children,
            draw(_BODY),
            draw(_BODY),
        )

    return node(0)


def build(node: Node, nl: bytes, top: bool = True) -> bytes:
    """The entity (header block and body) for ``node``, with line breaks ``nl``."""
    head = b"From: gen@example.org" + nl + b"Subject: generated" + nl if top else b""
    if isinstance(node, Leaf):
        return head + b"Content-Type: " + node.mime_type.encode() + nl + nl + node.body
    if isinstance(node, Encapsulated):
        inner = b"Subject: " + node.subject.encode() + nl + build(node.inner, nl, top=False)
        return head + b"Content-Type: message/rfc822" + nl + nl + inner
    dash = b"--" + node.boundary.encode()
    body = node.preamble + nl if node.preamble else b""
    for child in node.children:
        body += dash + nl + build(child, nl, top=False) + nl
    body += dash + b"--" + (nl + node.epilogue if node.epilogue else b"")
    content_type = f'multipart/{node.subtype}; boundary="{node.boundary}"'.encode()
    return head + b"Content-Type: " + content_type + nl + nl + body


def shape_of_node(node: Node) -> object:
    if isinstance(node, Leaf):
        return ("leaf", node.mime_type, node.body)
    if isinstance(node, Encapsulated):
        return ("message", node.subject.strip(), shape_of_node(node.inner))
    return ("multipart/" + node.subtype, [shape_of_node(child) for child in node.children])


def shape_of_part(raw: bytes, part: Part) -> object:
    if part.message is not None:
        return ("message", part.message.subject, shape_of_part(raw, part.message.root))
    if part.children:
        return (part.mime_type, [shape_of_part(raw, child) for child in part.children])
    return ("leaf", part.mime_type, raw[part.body_start : part.body_end])


def check_invariants(raw: bytes, message: Message) -> None:
    assert message.size == len(raw)
    for part in walk(message.root):
        assert 0 <= part.header_start <= part.header_end <= part.body_end <= len(raw)
        if part.content_type == "multipart":
            assert part.children
        if part.message is not None:
            assert part.children == (part.message.root,)
            assert part.message.root.header_start == part.body_start
            assert part.message.root.body_end == part.body_end
        previous_end = part.body_start
        for child in part.children:
            assert previous_end <= child.header_start <= child.body_end <= part.body_end
            previous_end = child.body_end


_LINE_BREAKS = st.sampled_from([b"\r\n", b"\n"])


@settings(deadline=None)
@given(trees(), _LINE_BREAKS)
def test_properties_generated_tree_parses_back_exactly(tree: Node, nl: bytes) -> None:
    raw = build(tree, nl)
    message = parse_message(raw)
    check_invariants(raw, message)
    assert shape_of_part(raw, message.root) == shape_of_node(tree)
    assert message.subject == "generated"


@settings(deadline=None)
@given(trees(), _LINE_BREAKS)
def test_properties_part_paths_reach_every_part(tree: Node, nl: bytes) -> None:
    raw = build(tree, nl)
    message = parse_message(raw)

    def visit(part: Part, path: tuple[int, ...]) -> None:
        if part.message is not None:
            inner = part.message.root
            if inner.is_multipart:
                visit(inner, path)
            else:
                # A non-multipart encapsulated message only has a part 1: its body.
                assert part_by_path(message, (*path, 1)) is inner
                visit(inner, (*path, 1))
        elif part.is_multipart:
            for index, child in enumerate(part.children, start=1):
                assert part_by_path(message, (*path, index)) is child
                visit(child, (*path, index))

    root = message.root
    if root.is_multipart:
        visit(root, ())
    else:
        assert part_by_path(message, (1,)) is root
        visit(root, (1,))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(build(draw(trees(max_depth=3)), draw(_LINE_BREAKS)))
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["insert", "delete", "truncate", "replace"]))
        at = draw(st.integers(0, len(raw)))
        if action == "insert":
            raw[at:at] = draw(st.sampled_from([b"\r\n", b"\n", b"--", b"\r\n\r\n", b":", b"\x00"]))
            raw[at:at] = draw(st.binary(max_size=8))
        elif action == "delete":
            del raw[at : at + draw(st.integers(1, 20))]
        elif action == "truncate":
            del raw[at:]
        else:
            raw[at : at + 1] = draw(st.binary(min_size=1, max_size=1))
    return bytes(raw)


@settings(deadline=None)
@given(mutated())
def test_properties_mutated_messages_never_raise(raw: bytes) -> None:
    message = parse_message(raw)
    check_invariants(raw, message)
    assert from_json(json.loads(json.dumps(to_json(message)))) == message


@settings(deadline=None)
@given(st.binary(max_size=2000))
def test_properties_arbitrary_bytes_never_raise(raw: bytes) -> None:
    check_invariants(raw, parse_message(raw))


@settings(deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"Content-Type: multipart/mixed; boundary=x\r\n",
                b"Content-Type: message/rfc822\r\n",
                b"Subject: =?utf-8?q?a?=\r\n",
                b"From: a <b@c>\r\n",
                b"\r\n",
                b"--x\r\n",
                b"--x--\r\n",
                b"body\r\n",
                b" folded\r\n",
                b"garbage\r\n",
            ]
        ),
        max_size=40,
    ).map(b"".join)
)
def test_properties_mime_shaped_noise_never_raises(raw: bytes) -> None:
    message = parse_message(raw)
    check_invariants(raw, message)
    assert from_json(to_json(message)) == message


@settings(deadline=None)
@given(trees(), _LINE_BREAKS)
def test_properties_json_round_trip(tree: Node, nl: bytes) -> None:
    raw = build(tree, nl)
    message = parse_message(raw)
    stored = json.loads(json.dumps(to_json(message)))
    assert from_json(stored) == message
