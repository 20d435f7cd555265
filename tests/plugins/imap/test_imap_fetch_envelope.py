"""FETCH ENVELOPE (RFC 9051 §7.5.2): the RFC's sample, groups, defaults, raw values."""

from __future__ import annotations

from kernel.mail import from_json, parse_message, to_json
from plugins.imap.fetch import envelope

# RFC 9051 §8: the header of message 12 in the sample connection.
RFC_HEADER = (
    b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    b"From: Terry Gray <gray@cac.washington.edu>\r\n"
    b"Subject: IMAP4rev2 WG mtg summary and minutes\r\n"
    b"To: imap@cac.washington.edu\r\n"
    b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
    b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
)
# RFC 9051 §8, as one line: the RFC breaks it for the page, and its line break between
# the two cc addresses is editorial too (RFC 9051 §9: env-cc = "(" 1*address ")").
RFC_ENVELOPE = (
    b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes"'
    b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
    b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
    b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
    b' ((NIL NIL "imap" "cac.washington.edu"))'
    b' ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU"))'
    b' NIL NIL "<B27397-0100000@cac.washington.edu>")'
)


def env(raw: bytes, *, utf8: bool = False) -> bytes:
    return envelope(raw, parse_message(raw), utf8=utf8)


def test_fetch_envelope_rfc9051_sample() -> None:
    assert env(RFC_HEADER + b"body\r\n") == RFC_ENVELOPE


def test_fetch_envelope_from_stored_structure() -> None:
    raw = RFC_HEADER + b"body\r\n"
    message = from_json(to_json(parse_message(raw)))
    assert envelope(raw, message) == RFC_ENVELOPE


def test_fetch_envelope_lf_only_line_endings() -> None:
    raw = RFC_HEADER.replace(b"\r\n", b"\n") + b"body\n"
    assert env(raw) == RFC_ENVELOPE


def test_fetch_envelope_missing_headers_are_nil() -> None:
    assert env(b"X-Other: 1\r\n\r\nbody") == b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
    assert env(b"") == b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"


def test_fetch_envelope_empty_headers() -> None:
    # RFC 9051 §7.5.2: empty Date/Subject/In-Reply-To/Message-ID are "", empty address
    # fields are NIL, and an empty Sender or Reply-To takes the From value.
    raw = (
        b"Date:\r\nSubject: \r\nFrom: a@example.com\r\nSender:\r\nReply-To:  \r\nTo:\r\n"
        b"In-Reply-To:\r\nMessage-ID:\r\n\r\n"
    )
    from_ = b'((NIL NIL "a" "example.com"))'
    assert env(raw) == b'("" "" %s %s %s NIL NIL NIL "" "")' % (from_, from_, from_)


def test_fetch_envelope_sender_and_reply_to_kept_when_present() -> None:
    raw = (
        b"From: Alice <alice@example.com>\r\nSender: Bot <bot@example.com>\r\n"
        b"Reply-To: list@example.com\r\nBcc: hidden@example.com\r\n"
        b"In-Reply-To: <parent@example.com>\r\n\r\n"
    )
    assert env(raw) == (
        b'(NIL NIL (("Alice" NIL "alice" "example.com")) (("Bot" NIL "bot" "example.com"))'
        b' ((NIL NIL "list" "example.com")) NIL NIL ((NIL NIL "hidden" "example.com"))'
        b' "<parent@example.com>" NIL)'
    )


def test_fetch_envelope_groups() -> None:
    raw = (
        b"From: a@example.com\r\n"
        b"To: undisclosed-recipients:;\r\n"
        b'Cc: Team: one@example.com, "Two" <two@example.com>;, three@example.com\r\n'
        b"Bcc: :;\r\n\r\n"
    )
    assert env(raw) == (
        b'(NIL NIL ((NIL NIL "a" "example.com")) ((NIL NIL "a" "example.com"))'
        b' ((NIL NIL "a" "example.com"))'
        b' ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))'
        b' ((NIL NIL "Team" NIL)(NIL NIL "one" "example.com")("Two" NIL "two" "example.com")'
        b'(NIL NIL NIL NIL)(NIL NIL "three" "example.com"))'
        b' ((NIL NIL "" NIL)(NIL NIL NIL NIL)) NIL NIL)'
    )


def test_fetch_envelope_encoded_words_stay_encoded() -> None:
    raw = (
        b"Subject: =?UTF-8?Q?Caf=C3=A9?= menu\r\n"
        b"From: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n\r\n"
    )
    assert env(raw) == (
        b'(NIL "=?UTF-8?Q?Caf=C3=A9?= menu"'
        b' (("=?ISO-8859-1?Q?Andr=E9?= Pirard" NIL "PIRARD" "vm1.ulg.ac.be"))'
        b' (("=?ISO-8859-1?Q?Andr=E9?= Pirard" NIL "PIRARD" "vm1.ulg.ac.be"))'
        b' (("=?ISO-8859-1?Q?Andr=E9?= Pirard" NIL "PIRARD" "vm1.ulg.ac.be"))'
        b" NIL NIL NIL NIL NIL)"
    )


def test_fetch_envelope_folded_values_are_unfolded() -> None:
    raw = b"Subject: a long\r\n  subject line\r\nTo: x@example.com,\r\n\ty@example.com\r\n\r\n"
    assert env(raw) == (
        b'(NIL "a long  subject line" NIL NIL NIL'
        b' ((NIL NIL "x" "example.com")(NIL NIL "y" "example.com")) NIL NIL NIL NIL)'
    )


def test_fetch_envelope_quoting_removed() -> None:
    raw = b'From: "Doe, \\"JD\\" John" <"john doe"@example.com>\r\n\r\n'
    expected = b'(("Doe, \\"JD\\" John" NIL "john doe" "example.com"))'
    assert env(raw) == b"(NIL NIL %s %s %s NIL NIL NIL NIL NIL)" % ((expected,) * 3)


def test_fetch_envelope_addresses_without_domain_or_mailbox() -> None:
    # A NIL host would mark a group: the missing pieces are empty strings instead.
    raw = b"To: root, John Doe, j@[192.0.2.1]\r\n\r\n"
    assert env(raw) == (
        b'(NIL NIL NIL NIL NIL ((NIL NIL "root" "")("John Doe" NIL "" "")'
        b'(NIL NIL "j" "[192.0.2.1]")) NIL NIL NIL NIL)'
    )


def test_fetch_envelope_utf8_header_literal_unless_enabled() -> None:
    # RFC 6532 raw UTF-8 header: a literal for IMAP4rev1, quoted after UTF8=ACCEPT.
    raw = "Subject: Grüße\r\nFrom: Jörg <jörg@bücher.example>\r\n\r\n".encode()
    plain = env(raw)
    assert plain.startswith(b"(NIL {7}\r\nGr\xc3\xbc\xc3\x9fe ((")
    assert b"{5}\r\nJ\xc3\xb6rg NIL {5}\r\nj\xc3\xb6rg {15}\r\nb\xc3\xbccher.example)" in plain
    assert (
        env(raw, utf8=True)
        == (
            '(NIL "Grüße" (("Jörg" NIL "jörg" "bücher.example"))'
            ' (("Jörg" NIL "jörg" "bücher.example")) (("Jörg" NIL "jörg" "bücher.example"))'
            " NIL NIL NIL NIL NIL)"
        ).encode()
    )


def test_fetch_envelope_first_occurrence_wins() -> None:
    raw = b"Subject: first\r\nSubject: second\r\nMessage-ID: <a@b>\r\nMessage-ID: <c@d>\r\n\r\n"
    assert env(raw) == b'(NIL "first" NIL NIL NIL NIL NIL NIL NIL "<a@b>")'


def test_fetch_envelope_of_encapsulated_message() -> None:
    raw = (
        b"From: outer@example.com\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: inner@example.com\r\nSubject: inner\r\n\r\ntext\r\n"
    )
    message = parse_message(raw)
    assert message.root.message is not None
    assert envelope(raw, message.root.message) == (
        b'(NIL "inner" ((NIL NIL "inner" "example.com")) ((NIL NIL "inner" "example.com"))'
        b' ((NIL NIL "inner" "example.com")) NIL NIL NIL NIL NIL)'
    )


def test_fetch_envelope_nul_and_control_bytes() -> None:
    raw = b"Subject: a\x00b\tc\r\nFrom: x\x00y@example.com\r\n\r\n"
    result = env(raw)
    assert b"\x00" not in result
    assert result.startswith(b'(NIL "ab\tc" ((NIL NIL "xy" "example.com"))')
