"""Reply serialisation (RFC 5321 §4.2, RFC 2034 §4) and the reply constants."""

from __future__ import annotations

import pytest

from plugins.smtp.proto import codes
from plugins.smtp.proto.responses import MAX_REPLY_LINE, Reply


def test_reply_single_and_multi_line() -> None:
    assert Reply.of(250, "2.0.0", "OK").serialize() == b"250 2.0.0 OK\r\n"
    # RFC 2034 §4: the same status code on every line of a multi-line reply.
    assert Reply.of(214, "2.0.0", "a", "b").serialize() == b"214-2.0.0 a\r\n214 2.0.0 b\r\n"
    # The greeting, EHLO replies and 3xx carry none.
    assert Reply.of(250, None, "mx", "PIPELINING").serialize() == b"250-mx\r\n250 PIPELINING\r\n"
    assert Reply.of(334, None, "").serialize() == b"334 \r\n"


def test_reply_text_cannot_inject_lines() -> None:
    data = Reply.of(550, "5.7.1", "bad\r\n250 2.0.0 fake\x00").serialize()
    assert data == b"550 5.7.1 bad  250 2.0.0 fake \r\n"


def test_reply_line_limit() -> None:
    # RFC 5321 §4.5.3.1.5: at most 512 octets with CRLF; cut on a character boundary.
    data = Reply.of(550, "5.7.1", "é" * 600).serialize()
    assert len(data) <= MAX_REPLY_LINE and data.endswith(b"\r\n")
    data.decode("utf-8")
    # RFC 4954 §4: SASL challenges may be longer.
    assert len(Reply.of(334, None, "A" * 2000).serialize()) == 2006


@pytest.mark.parametrize(
    ("code", "status"), [(250, "5.0.0"), (550, "4.1.1"), (199, None), (600, None), (250, "2.x.0")]
)
def test_reply_rejects_inconsistent_codes(code: int, status: str | None) -> None:
    with pytest.raises(ValueError):
        Reply.of(code, status, "x")


def test_codes_constants_agree_with_their_names() -> None:
    for name, value in vars(codes).items():
        if name.startswith("C") and name[1:4].isdigit():
            assert value == int(name[1:4]), name
        elif name.startswith("ES_"):
            assert value == ".".join(name.split("_")[1:4]), name
