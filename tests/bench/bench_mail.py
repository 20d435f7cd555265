"""Message parser benchmark: time :func:`kernel.mail.parse_message` on two messages.

Prints microseconds per parse of a realistic 4 KB ``multipart/alternative`` message
inside ``multipart/mixed`` (with a small attachment), and MB/s for a 10 MB message
carrying one large base64 attachment, plus the cost of ``to_json``/``from_json`` and of
decoding the attachment. Usage: ``python tests/bench/bench_mail.py [--seconds 1]``.
A benchmark reports numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kernel.mail import decode_body, from_json, parse_message, preview, to_json

HEADER = (
    b"Return-Path: <alice@example.org>\r\n"
    b"Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n"
    b"\tby mail.example.net with ESMTPS id 4F2A1B\r\n"
    b"\tfor <bob@example.net>; Tue, 1 Jul 2025 10:52:37 +0200\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1;\r\n"
    b"\th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
    b"\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR\r\n"
    b"From: =?utf-8?q?Alice_J=C3=B6rgensen?= <alice@example.org>\r\n"
    b'To: Bob <bob@example.net>, "Carol, C." <carol@example.com>\r\n'
    b"Cc: team@example.net\r\n"
    b"Subject: =?utf-8?b?UXVhcnRlcmx5IHJlcG9ydCDigJQgZHJhZnQ=?=\r\n"
    b"Date: Tue, 1 Jul 2025 10:52:37 +0200\r\n"
    b"Message-ID: <20250701105237.4F2A1B@example.org>\r\n"
    b"In-Reply-To: <prev-1@example.net>\r\n"
    b"References: <root-0@example.net> <prev-1@example.net>\r\n"
    b"MIME-Version: 1.0\r\n"
)


def small_message() -> bytes:
    text = b"Hello Bob,\r\n\r\nPlease find the draft attached. " * 12 + b"\r\n"
    markup = b"<html><body><p>Hello Bob,</p><p>Please find the draft attached.</p>" * 8
    attachment = base64.encodebytes(os.urandom(900)).replace(b"\n", b"\r\n")
    message = (
        HEADER + b'Content-Type: multipart/mixed; boundary="outer-123"\r\n\r\n'
        b"This is a multi-part message in MIME format.\r\n"
        b"--outer-123\r\n"
        b'Content-Type: multipart/alternative; boundary="alt-456"\r\n\r\n'
        b"--alt-456\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + text + b"\r\n"
        b"--alt-456\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + markup + b"\r\n"
        b"--alt-456--\r\n\r\n"
        b"--outer-123\r\n"
        b"Content-Type: application/pdf; name*=utf-8''draft%E2%80%94v2.pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''draft%E2%80%94v2.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + attachment + b"--outer-123--\r\n"
    )
    return message


def large_message(size: int = 10 * 1024 * 1024) -> bytes:
    attachment = base64.encodebytes(os.urandom(size * 3 // 4)).replace(b"\n", b"\r\n")
    return (
        HEADER + b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="big.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + attachment + b"--b1--\r\n"
    )


def timed(fn: Callable[[], object], seconds: float) -> float:
    """Mean seconds per call of ``fn`` over about ``seconds`` of wall time."""
    fn()
    calls, started = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return elapsed / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()

    small = small_message()
    parsed = parse_message(small)
    stored = to_json(parsed)
    encoded = json.dumps(stored, separators=(",", ":"))
    per_parse = timed(lambda: parse_message(small), args.seconds)
    print(f"small message: {len(small)} bytes, {len(encoded)} bytes of JSON")
    per_dump = timed(lambda: json.dumps(to_json(parsed)), args.seconds)
    per_load = timed(lambda: from_json(json.loads(encoded)), args.seconds)
    per_preview = timed(lambda: preview(small, parsed), args.seconds)
    print(f"  parse_message      {per_parse * 1e6:8.1f} us")
    print(f"  to_json+dumps      {per_dump * 1e6:8.1f} us")
    print(f"  loads+from_json    {per_load * 1e6:8.1f} us")
    print(f"  preview            {per_preview * 1e6:8.1f} us")

    large = large_message()
    per_large = timed(lambda: parse_message(large), args.seconds)
    attachment = parse_message(large).root.children[1]
    per_decode = timed(lambda: decode_body(large, attachment), args.seconds)
    megabytes = len(large) / 1e6
    print(f"large message: {megabytes:.1f} MB, one base64 attachment")
    print(f"  parse_message      {per_large * 1e3:8.2f} ms  ({megabytes / per_large:8.0f} MB/s)")
    print(f"  decode attachment  {per_decode * 1e3:8.2f} ms  ({megabytes / per_decode:8.0f} MB/s)")


if __name__ == "__main__":
    main()
