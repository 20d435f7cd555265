"""Whole FETCH responses (RFC 9051 §7.5.2), the store-side values (INTERNALDATE,
PREVIEW, MODSEQ, object ids), and a property test: rendering never raises for any
message the parser accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel.mail import from_json, parse_message, to_json
from plugins.imap.fetch import (
    FetchSource,
    UnknownCte,
    email_id,
    internal_date,
    modseq,
    needs_content,
    preview,
    render_fetch,
    rfc822_size,
    sets_seen,
    thread_id,
)
from plugins.imap.proto.fetch_items import (
    BinarySection,
    BinarySize,
    BodySection,
    FetchItem,
    Section,
    SimpleItem,
)
from plugins.imap.proto.responses import STREAM_THRESHOLD

PDT = timezone(timedelta(hours=-7))
RAW = (
    b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    b"From: Terry Gray <gray@cac.washington.edu>\r\n"
    b"Subject: IMAP4rev2 WG mtg summary and minutes\r\n"
    b"To: imap@cac.washington.edu\r\n"
    b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
    b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
    b"The minutes.\r\n"
)


def source(raw: bytes | None = RAW, **changes: object) -> FetchSource:
    fields: dict[str, object] = {
        "uid": 447,
        "flags": ("\\Seen",),
        "internal_date": datetime(1996, 7, 17, 2, 44, 25, tzinfo=PDT),
        "size": 0 if raw is None else len(raw),
        "raw": raw,
        "message": None if raw is None else from_json(to_json(parse_message(raw))),
    }
    fields.update(changes)
    return FetchSource(**fields)  # type: ignore[arg-type]


def render(items: list[FetchItem], data: FetchSource, **options: bool) -> bytes:
    response = render_fetch(12, items, data, **options)
    assert not isinstance(response, UnknownCte)
    return response.to_bytes()


def test_fetch_render_rfc9051_full() -> None:
    # RFC 9051 §8: "a003 fetch 12 full" (FULL = FLAGS INTERNALDATE RFC822.SIZE ENVELOPE
    # BODY), as one line.
    items: list[FetchItem] = [
        SimpleItem("FLAGS"),
        SimpleItem("INTERNALDATE"),
        SimpleItem("RFC822.SIZE"),
        SimpleItem("ENVELOPE"),
        SimpleItem("BODY"),
    ]
    assert render(items, source()) == (
        b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700"'
        b" RFC822.SIZE %d ENVELOPE ("
        % len(RAW)
        + b'"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes"'
        b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
        b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
        b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
        b' ((NIL NIL "imap" "cac.washington.edu"))'
        b' ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU"))'
        b' NIL NIL "<B27397-0100000@cac.washington.edu>")'
        b' BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 14 1))\r\n'
    )


def test_fetch_render_rfc9051_body_header() -> None:
    # RFC 9051 §8: "a004 fetch 12 body[header]" answers BODY[HEADER] {342}.
    header = RAW[: RAW.index(b"The minutes")]
    assert render([BodySection(Section(specifier="HEADER"))], source()) == (
        b"* 12 FETCH (BODY[HEADER] {342}\r\n" + header + b")\r\n"
    )


def test_fetch_render_sections_and_store_values() -> None:
    items: list[FetchItem] = [
        SimpleItem("UID"),
        SimpleItem("MODSEQ"),
        SimpleItem("EMAILID"),
        SimpleItem("THREADID"),
        SimpleItem("PREVIEW"),
        BodySection(Section((1,)), peek=True, partial=(4, 7)),
        BodySection(Section((2,))),
        BinarySize((1,)),
        SimpleItem("RFC822.HEADER"),
    ]
    data = source(modseq=12121231000, email_id="M6d99ac3275bb4e", preview="The minutes.")
    assert render(items, data) == (
        b"* 12 FETCH (UID 447 MODSEQ (12121231000) EMAILID (M6d99ac3275bb4e) THREADID NIL"
        b' PREVIEW "The minutes." BODY[1]<4> {7}\r\nminutes BODY[2] NIL BINARY.SIZE[1] 14'
        b" RFC822.HEADER {342}\r\n" + RAW[:342] + b")\r\n"
    )


def test_fetch_render_preview_computed_when_not_stored() -> None:
    assert render([SimpleItem("PREVIEW")], source()) == b'* 12 FETCH (PREVIEW "The minutes.")\r\n'
    bare = source(raw=None)
    assert render([SimpleItem("PREVIEW")], bare) == b'* 12 FETCH (PREVIEW "")\r\n'


def test_fetch_render_streams_large_bodies() -> None:
    raw = b"Subject: big\r\n\r\n" + b"z" * (2 * STREAM_THRESHOLD)
    response = render_fetch(3, [SimpleItem("UID"), BodySection(Section())], source(raw))
    assert not isinstance(response, UnknownCte)
    head, payload, tail = response.pieces()
    assert head == b"* 3 FETCH (UID 447 BODY[] {%d}\r\n" % len(raw)
    assert isinstance(payload, memoryview) and payload.obj is raw
    assert tail == b")\r\n"


def test_fetch_render_binary() -> None:
    raw = (
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"AGhp\r\n"
    )
    assert render([BinarySection((1,)), BinarySize((1,))], source(raw)) == (
        b"* 12 FETCH (BINARY[1] ~{3}\r\n\x00hi BINARY.SIZE[1] 3)\r\n"
    )


def test_fetch_render_unknown_cte() -> None:
    raw = b"Content-Transfer-Encoding: x-gzip64\r\n\r\nH4sI\r\n"
    assert render_fetch(1, [BinarySection((1,))], source(raw)) == UnknownCte("x-gzip64")
    assert render_fetch(1, [BinarySize((1,))], source(raw)) == UnknownCte("x-gzip64")
    # BODY[] of the same part is fine: the client decodes it.
    assert render([BodySection(Section((1,)))], source(raw)) == (
        b"* 12 FETCH (BODY[1] {6}\r\nH4sI\r\n)\r\n"
    )


def test_fetch_render_utf8_and_rev2_options() -> None:
    raw = "Subject: Grüße\r\n\r\nx".encode()
    assert render([SimpleItem("ENVELOPE")], source(raw), utf8=True) == (
        '* 12 FETCH (ENVELOPE (NIL "Grüße" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n'.encode()
    )
    assert b"{7}\r\nGr\xc3\xbc\xc3\x9fe" in render([SimpleItem("ENVELOPE")], source(raw))


def test_fetch_render_needs_content() -> None:
    assert not needs_content([SimpleItem("FLAGS"), SimpleItem("UID"), SimpleItem("RFC822.SIZE")])
    assert not needs_content([SimpleItem("PREVIEW"), SimpleItem("INTERNALDATE")])
    assert needs_content([SimpleItem("FLAGS"), SimpleItem("ENVELOPE")])
    assert needs_content([BodySection(Section())])
    assert needs_content([BinarySize(())])
    with pytest.raises(ValueError):
        render_fetch(1, [SimpleItem("ENVELOPE")], source(raw=None))


def test_fetch_render_sets_seen() -> None:
    # RFC 9051 §6.4.5: BODY[...] and BINARY[...] set \Seen, their PEEK forms do not;
    # RFC 3501 §6.4.5: RFC822 and RFC822.TEXT do, RFC822.HEADER does not.
    assert sets_seen([SimpleItem("FLAGS"), BodySection(Section())])
    assert sets_seen([BinarySection((1,))])
    assert sets_seen([SimpleItem("RFC822")])
    assert sets_seen([SimpleItem("RFC822.TEXT")])
    assert not sets_seen([BodySection(Section(), peek=True), BinarySection((1,), peek=True)])
    assert not sets_seen([SimpleItem("RFC822.HEADER"), SimpleItem("BODY"), BinarySize((1,))])


# --- values -------------------------------------------------------------------------------


def test_fetch_render_internal_date() -> None:
    # RFC 9051 §9 date-time, with the RFC 9051 §8 example.
    assert internal_date(datetime(1996, 7, 17, 2, 44, 25, tzinfo=PDT)) == (
        b'"17-Jul-1996 02:44:25 -0700"'
    )
    # date-day-fixed: a single-digit day is padded with a space.
    assert internal_date(datetime(2024, 3, 5, 23, 0, 9, tzinfo=UTC)) == (
        b'" 5-Mar-2024 23:00:09 +0000"'
    )
    assert internal_date(datetime(2024, 12, 25, 8, 0, 0)) == b'"25-Dec-2024 08:00:00 +0000"'
    assert internal_date(0.0) == b'" 1-Jan-1970 00:00:00 +0000"'
    india = timezone(timedelta(hours=5, minutes=30))
    assert internal_date(datetime(2001, 2, 3, 4, 5, 6, tzinfo=india)) == (
        b'" 3-Feb-2001 04:05:06 +0530"'
    )


def test_fetch_render_preview_and_ids() -> None:
    # RFC 8970 §3.3: at most 200 characters here, UTF-8, no line breaks kept.
    assert preview("line one\r\nline two") == b'"line one  line two"'
    long = preview("é" * 300, utf8=True)
    assert long == b'"' + "é".encode() * 200 + b'"'
    assert preview("é") == b"{2}\r\n\xc3\xa9"
    assert preview("") == b'""'
    assert rfc822_size(44827) == b"44827"
    assert modseq(624140003) == b"(624140003)"  # RFC 7162 §3.1.4.2
    assert email_id("M6d99ac3275bb4e") == b"(M6d99ac3275bb4e)"  # RFC 8474 §5.3
    assert thread_id("T64b478a75b7ea9bd") == b"(T64b478a75b7ea9bd)"
    assert thread_id(None) == b"NIL"


# --- property: rendering never raises -------------------------------------------------------

_PIECES = st.sampled_from(
    [
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Type: message/global\r\n",
        b"Content-Type: text/plain; charset=utf-8; name*=utf-8''%C3%A9\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"Content-Transfer-Encoding: x-weird\r\n",
        b'Content-Disposition: attachment; filename="a\x00b"\r\n',
        b"Content-Language: en, fr\r\n",
        b'From: a@b, Group: c@d;, "x\\"y" <e@f>\r\n',
        b"To: =?utf-8?b?w6k=?= <\xc3\xa9@x>\r\n",
        b"Subject: \xff\x00\r\n",
        b"\r\n",
        b"\n",
        b"--b\r\n",
        b"--b--\r\n",
        b"QUJD\r\n",
        b"=C3=A9=\r\n",
        b"\x00\x01\xfe",
        b"text line\n",
    ]
)
_MESSAGES = st.one_of(st.binary(max_size=400), st.lists(_PIECES, max_size=30).map(b"".join))
_PATHS = st.lists(st.integers(1, 4), max_size=4).map(tuple)
_SPECIFIERS = st.sampled_from(["", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    _MESSAGES,
    _PATHS,
    _SPECIFIERS,
    st.none() | st.tuples(st.integers(0, 500), st.integers(1, 500)),
    st.booleans(),
)
def test_fetch_render_never_raises(
    raw: bytes,
    path: tuple[int, ...],
    specifier: str,
    partial: tuple[int, int] | None,
    flag: bool,
) -> None:
    if specifier == "MIME" and not path:
        specifier = ""
    items: list[FetchItem] = [
        SimpleItem("ENVELOPE"),
        SimpleItem("BODY"),
        SimpleItem("BODYSTRUCTURE"),
        SimpleItem("RFC822"),
        SimpleItem("RFC822.TEXT"),
        SimpleItem("PREVIEW"),
        BodySection(Section(path, specifier, ("FROM", "SUBJECT")), partial=partial),  # type: ignore[arg-type]
        BinarySection(path, partial=partial),
        BinarySize(path),
    ]
    response = render_fetch(1, items, source(raw), utf8=flag, rev2=flag)
    if isinstance(response, UnknownCte):
        return
    wire = response.to_bytes()
    assert wire.startswith(b"* 1 FETCH (") and wire.endswith(b")\r\n")
