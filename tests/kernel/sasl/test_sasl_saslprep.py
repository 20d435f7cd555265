"""SASLprep (RFC 4013): the §3 examples and the individual steps."""

from __future__ import annotations

import pytest

from kernel.sasl import saslprep


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I\u00adX", "IX"),  # 1: SOFT HYPHEN mapped to nothing
        ("user", "user"),  # 2: no transformation
        ("USER", "USER"),  # 3: case preserved
        ("\u00aa", "a"),  # 4: output is NFKC
        ("\u2168", "IX"),  # 5: output is NFKC, matches #1
    ],
)
def test_saslprep_rfc4013_examples(text: str, expected: str) -> None:
    assert saslprep(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "\u0007",  # 6: prohibited character
        "\u0627\u0031",  # 7: bidirectional check
    ],
)
def test_saslprep_rfc4013_error_examples(text: str) -> None:
    with pytest.raises(ValueError):
        saslprep(text)


def test_saslprep_maps_non_ascii_space_to_space() -> None:
    assert saslprep("a\u00a0b\u3000c") == "a b c"


def test_saslprep_keeps_ascii_space() -> None:
    assert saslprep("correct horse") == "correct horse"


def test_saslprep_removes_zero_width_characters() -> None:
    assert saslprep("pa\u200bss\ufeffword") == "password"


@pytest.mark.parametrize(
    "char",
    [
        "\x00",  # C.2.1
        "\x7f",  # C.2.1
        "\u0085",  # C.2.2
        "\ue000",  # C.3 private use
        "\ufdd0",  # C.4 non-character
        "\ud800",  # C.5 surrogate
        "\ufffd",  # C.6
        "\u2ff0",  # C.7
        "\u200e",  # C.8
        "\U000e0001",  # C.9 tagging
    ],
)
def test_saslprep_prohibited_characters(char: str) -> None:
    with pytest.raises(ValueError):
        saslprep(f"a{char}b", allow_unassigned=True)


def test_saslprep_unassigned_allowed_only_in_queries() -> None:
    # U+1F600 was unassigned in Unicode 3.2 (RFC 3454 table A.1).
    assert saslprep("pw\U0001f600", allow_unassigned=True) == "pw\U0001f600"
    with pytest.raises(ValueError):
        saslprep("pw\U0001f600")


def test_saslprep_right_to_left_string_accepted() -> None:
    assert saslprep("\u0627\u0031\u0628") == "\u0627\u0031\u0628"


def test_saslprep_mixed_directions_refused() -> None:
    with pytest.raises(ValueError):
        saslprep("\u0627a\u0628")


def test_saslprep_empty_string() -> None:
    assert saslprep("") == ""
