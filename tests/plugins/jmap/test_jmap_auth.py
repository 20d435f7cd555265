"""JMAP authentication over real HTTP: Basic (passwords, app passwords), Bearer
tokens, 401 with WWW-Authenticate, throttled failures."""

from __future__ import annotations

from pathlib import Path

import trio
from jmap_support import PASSWORD, USER, basic, jmap_server

TIMEOUT = 20


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_jmap_auth_basic_bearer_and_401(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            url = server.base + "/.well-known/jmap"
            ok = await server.client.get(url, headers=basic())
            assert ok.status_code == 200
            for headers in (
                {},
                basic(USER, "wrong"),
                basic("nobody@example.org", PASSWORD),
                {"Authorization": "Basic !!!"},
                {"Authorization": "Digest abc"},
                _bearer("not-a-token"),
            ):
                refused = await server.client.get(url, headers=headers)
                assert refused.status_code == 401, headers
                challenge = refused.headers["www-authenticate"]
                assert challenge.startswith("Basic realm=")
                assert "Bearer" in challenge
            # The API endpoint and upload/download refuse too.
            api = await server.client.post(
                server.base + "/jmap/api/", json={"using": [], "methodCalls": []}
            )
            assert api.status_code == 401
            upload = await server.client.post(
                server.base + f"/jmap/upload/{server.account_id}/", content=b"x"
            )
            assert upload.status_code == 401
            # App passwords and bearer tokens from the store.
            app = await server.kernel.store.directory.add_app_password(USER, "phone")
            assert (await server.client.get(url, headers=basic(USER, app))).status_code == 200
            token = await server.kernel.store.directory.add_token(USER, "web")
            by_token = await server.client.get(url, headers=_bearer(token))
            assert by_token.status_code == 200
            assert by_token.json()["username"] == USER
            await server.kernel.store.directory.revoke_token(USER, "web")
            assert (await server.client.get(url, headers=_bearer(token))).status_code == 401


async def test_jmap_auth_failures_are_throttled(tmp_path: Path) -> None:
    config = {"directory": {"throttle": {"max_failures_per_account": 3}}}
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, config) as server:
            url = server.base + "/.well-known/jmap"
            for _ in range(3):
                bad = await server.client.get(url, headers=basic(USER, "wrong"))
                assert bad.status_code == 401
            # The right password is now refused unchecked: the directory throttles.
            blocked = await server.client.get(url, headers=basic())
            assert blocked.status_code == 401


async def test_jmap_auth_requires_tls_off_loopback_without_opt_in(tmp_path: Path) -> None:
    # Loopback clients may use Basic on plain HTTP; the opt-in is off here.
    config = {"auth": {"allow_plaintext_without_tls": False}}
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, config) as server:
            ok = await server.client.get(server.base + "/.well-known/jmap", headers=basic())
            assert ok.status_code == 200
