"""Modified UTF-7 mailbox names (RFC 3501 §5.1.3): the RFC's examples, strictness, and
round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.imap.proto.mutf7 import decode_mutf7, encode_mutf7

# RFC 3501 §5.1.3 examples: "台北" is &U,BTFw-, "日本語" is &ZeVnLIqe-.
RFC_EXAMPLES = [
    ("~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語"),
    ("&Jjo-!", "☺!"),
    ("&U,BTF2XlZyyKng-", "台北日本語"),
]


@pytest.mark.parametrize(("wire", "text"), RFC_EXAMPLES)
def test_mutf7_rfc_examples_decode(wire: str, text: str) -> None:
    assert decode_mutf7(wire) == text


@pytest.mark.parametrize(("wire", "text"), RFC_EXAMPLES)
def test_mutf7_rfc_examples_encode(wire: str, text: str) -> None:
    assert encode_mutf7(text) == wire


@pytest.mark.parametrize(
    ("text", "wire"),
    [
        ("INBOX", "INBOX"),
        ("", ""),
        ("R&D", "R&-D"),
        ("&", "&-"),
        ("&&", "&-&-"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("Gesendete Objekte/Ärger", "Gesendete Objekte/&AMQ-rger"),
        ("tab\there", "tab&AAk-here"),
        ("\x7f", "&AH8-"),
        ("😀", "&2D3eAA-"),  # a surrogate pair in UTF-16
        ("é&é", "&AOk-&-&AOk-"),
    ],
)
def test_mutf7_encode_examples(text: str, wire: str) -> None:
    assert encode_mutf7(text) == wire
    assert decode_mutf7(wire) == text


@pytest.mark.parametrize(
    "wire",
    [
        "&Jjo!",  # RFC 3501 §5.1.3: no shift back before "!"
        "&U,BTFw-&ZeVnLIqe-",  # RFC 3501 §5.1.3: superfluous shift
        "&",
        "abc&",
        "&ZeVnLIqe",  # unterminated
        "&AGE-",  # "a" encoded although it represents itself
        "&ACA-",  # a space encoded
        "&AAB-",  # padding bits not zero
        "&AA-",  # a lone octet, no whole UTF-16 unit
        "&AAAA-",  # a superfluous BASE64 character
        "&2AA-",  # a lone high surrogate
        "&3gA-",  # a lone low surrogate
        "&ZeV/-",  # "/" is not in the modified alphabet
        "&ZeV=-",
        "Entwürfe",  # raw 8-bit
        "tab\there",  # a raw control character
        "line\r\n",
    ],
)
def test_mutf7_decode_rejects_invalid(wire: str) -> None:
    with pytest.raises(ValueError):
        decode_mutf7(wire)


def test_mutf7_decode_accepts_ascii_bytes() -> None:
    assert decode_mutf7(b"Entw&APw-rfe") == "Entwürfe"
    with pytest.raises(ValueError):
        decode_mutf7("Entwürfe".encode())


def test_mutf7_encode_rejects_lone_surrogate() -> None:
    with pytest.raises(ValueError):
        encode_mutf7("a\ud800b")


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)))


@given(_TEXT)
def test_mutf7_round_trip(text: str) -> None:
    wire = encode_mutf7(text)
    assert all("\x20" <= char <= "\x7e" for char in wire)
    assert decode_mutf7(wire) == text


@given(st.text(st.sampled_from("&-AZaz09+,/bc!~ é")))
def test_mutf7_decode_is_canonical(wire: str) -> None:
    # Every name has exactly one spelling: whatever decodes re-encodes to itself.
    try:
        text = decode_mutf7(wire)
    except ValueError:
        return
    assert encode_mutf7(text) == wire
