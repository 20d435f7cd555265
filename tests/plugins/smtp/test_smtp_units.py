"""Small pure parts of the smtp plugin: rate-limit buckets and trace fields."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from plugins.smtp.ratelimit import RateLimiter
from plugins.smtp.trace import compose, count_received, protocol_name, received_field


def test_rate_limiter_buckets_refill() -> None:
    limiter = RateLimiter()
    assert [limiter.allow("k", 2, 60, 0.0) for _ in range(3)] == [True, True, False]
    assert limiter.allow("other", 2, 60, 0.0)
    assert not limiter.allow("k", 2, 60, 10.0)  # a third of a token back
    assert limiter.allow("k", 2, 60, 30.0)
    assert all(limiter.allow("k", 0, 60, 0.0) for _ in range(10))  # 0: unlimited


def test_rate_limiter_memory_is_bounded() -> None:
    limiter = RateLimiter(max_keys=3)
    for n in range(10):
        limiter.allow(f"k{n}", 1, 60, 0.0)
    assert len(limiter) == 3


WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))


def test_received_field_shape() -> None:
    # RFC 5321 §4.4: from, by, with, id, for; then the RFC 8314 §4.3 tls clause; date.
    field = received_field(
        helo="client.example",
        remote_ip="192.0.2.7",
        hostname="mx.example.org",
        protocol="ESMTPS",
        queue_id="ABC",
        recipient="ann@example.org",
        tls_cipher="TLS_AES_256_GCM_SHA384",
        account=None,
        when=WHEN,
    )
    assert field == (
        b"Received: from client.example ([192.0.2.7])\r\n"
        b"\tby mx.example.org (stalwart-kernel) with ESMTPS id ABC\r\n"
        b"\tfor <ann@example.org> tls TLS_AES_256_GCM_SHA384;\r\n"
        b"\tMon, 06 May 2024 07:08:09 +0200\r\n"
    )


def test_received_field_odd_helo_ipv6_and_user() -> None:
    field = received_field(
        helo="bad (name)",
        remote_ip="2001:db8::1",
        hostname="mx.example.org",
        protocol="ESMTPSA",
        queue_id="Q",
        recipient=None,
        tls_cipher="ECDHE-RSA-AES128-GCM-SHA256",
        account="ann@example.org",
        when=WHEN,
    )
    assert field.startswith(b"Received: from [IPv6:2001:db8::1] (helo bad \\(name\\))\r\n")
    assert b"\t(authenticated as ann@example.org)\r\n" in field
    assert b"tls 0xC02F;" in field or b"(ECDHE-RSA-AES128-GCM-SHA256);" in field
    assert b"for <" not in field


def test_protocol_names() -> None:
    assert protocol_name(extended=False, tls=True, authenticated=True, utf8=False) == "SMTP"
    assert protocol_name(extended=True, tls=False, authenticated=False, utf8=False) == "ESMTP"
    assert protocol_name(extended=True, tls=True, authenticated=True, utf8=False) == "ESMTPSA"
    # RFC 6531 §4.3
    assert protocol_name(extended=True, tls=True, authenticated=False, utf8=True) == "UTF8SMTPS"


def test_compose_trace_and_header_edits() -> None:
    message = b"Return-Path: <old@x>\r\nReceived: by a\r\nX-Spam: yes\r\nSubject: s\r\n\r\nbody\r\n"
    out = compose(
        message,
        sender="new@example.org",
        trace=b"Received: by us\r\n",
        add=(("X-Checked", "ok"),),
        remove=("x-spam",),
    )
    assert out == (
        b"Return-Path: <new@example.org>\r\nReceived: by us\r\nX-Checked: ok\r\n"
        b"Received: by a\r\nSubject: s\r\n\r\nbody\r\n"
    )
    assert count_received(out) == 2
    assert compose(b"\r\nbody", sender="", trace=b"") == b"Return-Path: <>\r\n\r\nbody"


def test_compose_drops_return_path_only_from_the_header() -> None:
    # Without header edits, an old Return-Path (any case) still goes.
    message = b"Subject: s\r\nRETURN-PATH: <old@x>\r\n\r\nReturn-Path: <in the body>\r\n"
    assert compose(message, sender="a@b", trace=b"") == (
        b"Return-Path: <a@b>\r\nSubject: s\r\n\r\nReturn-Path: <in the body>\r\n"
    )
    # A header that ends with bare line feeds is scanned the same way.
    bare = b"Return-Path: <old@x>\nSubject: s\n\nbody\n"
    assert compose(bare, sender="", trace=b"") == b"Return-Path: <>\r\nSubject: s\n\nbody\n"
    # Nothing to drop: the bytes after our fields are the message's own.
    plain = b"Subject: s\r\n\r\nbody\r\n"
    assert compose(plain, sender="", trace=b"T: 1\r\n") == b"Return-Path: <>\r\nT: 1\r\n" + plain
