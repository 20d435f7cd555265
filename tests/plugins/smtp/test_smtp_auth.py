"""Roles, EHLO per role, STARTTLS and AUTH (PLAIN, LOGIN, SCRAM-SHA-256) over real sockets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import ssl
from pathlib import Path

from smtp_support import (
    MESSAGE,
    client,
    config,
    in_thread,
    listener,
    smtp_server,
    unverified_context,
)

from kernel import AuthResult, Credentials, Kernel, KernelError, hookimpl
from plugins.smtp.testing import SmtpClient

BASE = [
    "PIPELINING",
    "SIZE 52428800",
    "8BITMIME",
    "SMTPUTF8",
    "ENHANCEDSTATUSCODES",
    "CHUNKING",
    "BINARYMIME",
]


async def ehlo(address: tuple[str, int], context: ssl.SSLContext | None = None) -> list[str]:
    stream_client = await SmtpClient.connect(*address)
    if context is not None:
        await stream_client.starttls(context)
    async with stream_client as smtp:
        await smtp.expect(220)
        lines = await smtp.transact("EHLO client.example", 250)
        await smtp.transact("QUIT", 221)
    assert lines[0] == "mx.example.org greets client.example"
    return lines[1:]


async def test_ehlo_extensions_per_role(tmp_path: Path) -> None:
    conf = config(
        listeners={
            "mta": listener("mta"),
            "mta_tls": listener("mta", "starttls"),
            "submission": listener("submission", "starttls"),
            "submissions": listener("submissions", "implicit"),
        },
        plaintext=False,
    )
    async with smtp_server(tmp_path, conf) as server:
        # MTA: no AUTH (smtp.auth_on_mta is off); STARTTLS only where the listener has it.
        assert await ehlo(server.address("mta")) == BASE
        assert await ehlo(server.address("mta_tls")) == [*BASE, "STARTTLS"]
        # Submission before TLS: no AUTH (RFC 8314 §3); after STARTTLS: AUTH, no STARTTLS.
        assert await ehlo(server.address("submission")) == [*BASE, "STARTTLS"]
        auth = "AUTH SCRAM-SHA-256 PLAIN LOGIN OAUTHBEARER"
        assert await ehlo(server.address("submissions"), unverified_context()) == [*BASE, auth]


async def test_helo_gets_no_extensions(tmp_path: Path) -> None:
    async with (
        smtp_server(tmp_path) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        await smtp.expect(220)
        # RFC 5321 §3.2: never the EHLO-style reply to HELO.
        assert await smtp.transact("HELO client.example", 250) == ["mx.example.org"]
        lines = await smtp.transact("MAIL FROM:<a@remote.example> SIZE=10", 555)
        assert lines == ["5.5.4 parameter SIZE not offered"]
        await smtp.transact("BDAT 0 LAST", 503)


async def test_submission_plain_and_login_then_relay_not_available(tmp_path: Path) -> None:
    async with smtp_server(tmp_path) as server:
        address = server.address("submission")

        def session() -> tuple[object, ...]:
            with client(address) as smtp:
                smtp.ehlo()
                refused = smtp.mail("ann@example.org")  # no AUTH yet
                smtp.rset()
                try:
                    smtp.login("ann@example.org", "wrong")
                except smtplib.SMTPAuthenticationError as exc:
                    bad = (exc.smtp_code, exc.smtp_error)
                smtp.user, smtp.password = "ann@example.org", "ann-secret"
                ok = smtp.auth("PLAIN", smtp.auth_plain)
                again = smtp.docmd("AUTH", "PLAIN")
                not_owned = smtp.mail("bob@example.org")
                smtp.rset()
                smtp.mail("ann+sent@example.org")
                remote = smtp.rcpt("someone@elsewhere.example")
                local = smtp.rcpt("bob@example.org")
                data = smtp.data(MESSAGE)
            with client(address) as smtp:
                smtp.ehlo()
                smtp.user, smtp.password = "bob@example.org", "bob-secret"
                login = smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)
            return refused, bad, ok, again, not_owned, remote, local, data, login

        refused, bad, ok, again, not_owned, remote, local, data, login = await in_thread(session)
        # RFC 4954 §6: 530 5.7.0 before AUTH on submission; 535 5.7.8 bad credentials.
        assert refused == (530, b"5.7.0 authentication required")
        assert bad == (535, b"5.7.8 authentication credentials invalid")
        assert ok == (235, b"2.7.0 authentication succeeded")
        assert again[0] == 503  # RFC 4954 §4: no second AUTH
        assert not_owned[0] == 553 and not_owned[1].startswith(b"5.7.1")
        # Relaying for an authenticated client: accepted and queued (RFC 6409 §3.3).
        assert remote == (250, b"2.1.5 recipient <someone@elsewhere.example> OK (relay)")
        assert local[0] == 250 and data[0] == 250
        assert login == (235, b"2.7.0 authentication succeeded")
        [stored] = await server.inbox(server.bob)
        assert b"with ESMTPA id" in stored
        assert b"authenticated as" not in stored  # smtp.trace.authenticated_user is off


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


async def test_submission_scram_sha_256(tmp_path: Path) -> None:
    async with (
        smtp_server(tmp_path) as server,
        await SmtpClient.connect(*server.address("submission")) as smtp,
    ):
        await smtp.expect(220)
        await smtp.transact("EHLO client.example", 250)
        bare = "n=ann@example.org,r=clientnonce"
        first = base64.b64encode(("n,," + bare).encode()).decode()
        [challenge] = await smtp.transact(f"AUTH SCRAM-SHA-256 {first}", 334)
        server_first = base64.b64decode(challenge).decode()
        attrs = dict(item.split("=", 1) for item in server_first.split(","))
        salted = hashlib.pbkdf2_hmac(
            "sha256", b"ann-secret", base64.b64decode(attrs["s"]), int(attrs["i"])
        )
        client_key = _hmac(salted, b"Client Key")
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{bare},{server_first},{without_proof}".encode()
        signature = _hmac(hashlib.sha256(client_key).digest(), auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        final = f"{without_proof},p={base64.b64encode(proof).decode()}"
        [server_final] = await smtp.transact(base64.b64encode(final.encode()), 334)
        expected = _hmac(_hmac(salted, b"Server Key"), auth_message)
        assert base64.b64decode(server_final) == b"v=" + base64.b64encode(expected)
        await smtp.transact(b"", 235)
        await smtp.transact("MAIL FROM:<ann@example.org>", 250)


async def test_auth_exchange_errors(tmp_path: Path) -> None:
    async with smtp_server(tmp_path) as server:
        async with await SmtpClient.connect(*server.address("submission")) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await smtp.transact("AUTH LOGIN", 334)
            # RFC 4954 §4: "*" cancels (501); bad base64 is 501 5.5.2.
            assert await smtp.transact("*", 501) == ["5.7.0 authentication cancelled"]
            assert await smtp.transact("AUTH PLAIN not*base64", 501) == ["5.5.2 invalid base64"]
            await smtp.transact("AUTH LOGIN", 334)
            assert (await smtp.transact("=A=", 501))[0].startswith("5.5.2")
            await smtp.transact("AUTH LOGIN", 334)
            assert (await smtp.transact("A" * 20000, 500))[0].startswith("5.5.6")
            assert (await smtp.transact("AUTH CRAM-MD5", 504))[0].startswith("5.5.4")
            await smtp.transact("NOOP", 250)
        async with await SmtpClient.connect(*server.address("mta")) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await smtp.transact("AUTH PLAIN AGFubgBhbm4tc2VjcmV0", 502)


async def test_starttls_then_auth_and_trace(tmp_path: Path) -> None:
    conf = config(
        listeners={"submission": listener("submission", "starttls")},
        plaintext=False,
        smtp={"trace": {"authenticated_user": True}},
    )
    async with smtp_server(tmp_path, conf) as server:
        address = server.address("submission")

        def session() -> tuple[object, ...]:
            with client(address) as smtp:
                smtp.ehlo()
                before = smtp.has_extn("auth")
                plain = base64.b64encode(b"\0ann@example.org\0ann-secret").decode()
                refused = smtp.docmd("AUTH", f"PLAIN {plain}")
                smtp.starttls(context=unverified_context())
                smtp.ehlo()
                after = smtp.has_extn("auth"), smtp.has_extn("starttls")
                smtp.login("ann@example.org", "ann-secret")
                sent = smtp.sendmail("ann@example.org", ["bob@example.org"], MESSAGE)
            return before, refused, after, sent

        before, refused, after, sent = await in_thread(session)
        assert before is False
        # RFC 4954 §6: 538 5.7.11 for credentials before TLS.
        assert refused == (538, b"5.7.11 encryption required: use STARTTLS first")
        assert after == (True, False) and sent == {}
        [stored] = await server.inbox(server.bob)
        assert b"with ESMTPSA id" in stored
        assert b"\t(authenticated as ann@example.org)\r\n" in stored
        assert b" tls " in stored  # RFC 8314 §4.3


async def test_starttls_drops_pipelined_commands(tmp_path: Path) -> None:
    conf = config(listeners={"mta": listener("mta", "starttls")})
    async with smtp_server(tmp_path, conf) as server:
        smtp = await SmtpClient.connect(*server.address())
        async with smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            # RFC 3207 §4.2: the injected MAIL must not run after the handshake.
            await smtp.send(b"STARTTLS\r\nMAIL FROM:<evil@remote.example>\r\n")
            await smtp.expect(220)
            await smtp.starttls(unverified_context())
            await smtp.transact("MAIL FROM:<carol@remote.example>", 503)  # EHLO forgotten
            lines = await smtp.transact("EHLO client.example", 250)
            assert "STARTTLS" not in lines
            await smtp.transact("STARTTLS", 503)
            await smtp.transact("MAIL FROM:<carol@remote.example>", 250)


async def test_submissions_implicit_tls(tmp_path: Path) -> None:
    conf = config(listeners={"submissions": listener("submissions", "implicit")}, plaintext=False)
    async with smtp_server(tmp_path, conf) as server:
        address = server.address("submissions")

        def send() -> dict:
            with smtplib.SMTP_SSL(
                *address, local_hostname="client.example", context=unverified_context(), timeout=10
            ) as smtp:
                smtp.login("bob@example.org", "bob-secret")
                return smtp.sendmail("bob@example.org", ["info@example.org"], MESSAGE)

        assert await in_thread(send) == {}
        [stored] = await server.inbox(server.ann)
        assert b"with ESMTPSA id" in stored


class DirectoryDown:
    """A directory that fails before the built-in one is asked."""

    @hookimpl(tryfirst=True)
    def stalwart_authenticate(self, kernel: Kernel, credentials: Credentials):
        async def fail() -> AuthResult | None:
            raise KernelError("directory unreachable")

        return fail


async def test_auth_directory_failure_is_temporary(tmp_path: Path) -> None:
    async with (
        smtp_server(tmp_path, extra_plugins={"down": DirectoryDown()}) as server,
        await SmtpClient.connect(*server.address("submission")) as smtp,
    ):
        await smtp.expect(220)
        await smtp.transact("EHLO client.example", 250)
        plain = base64.b64encode(b"\0ann@example.org\0ann-secret").decode()
        # RFC 4954 §6: 454 4.7.0 temporary authentication failure.
        lines = await smtp.transact(f"AUTH PLAIN {plain}", 454)
        assert lines == ["4.7.0 temporary authentication failure"]
