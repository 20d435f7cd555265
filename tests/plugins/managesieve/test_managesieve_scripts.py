"""The script commands end to end over a socket (RFC 5804 §2.5 to §2.13)."""

from __future__ import annotations

from pathlib import Path

import trio
from managesieve_support import SCRIPT, USER, capabilities, managesieve_server

from plugins.managesieve.testing import arg
from plugins.sieve import capabilities as sieve_capabilities
from plugins.sieve import default_registry
from plugins.sieve.runner import decode_compiled, runnable


async def test_capabilities_before_and_after_login(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        before = capabilities((await client.transact("CAPABILITY")).lines)
        assert before["IMPLEMENTATION"] == "stalwart-kernel"
        assert before["VERSION"] == "1.0"
        assert before["SIEVE"] == " ".join(sieve_capabilities())
        assert "fileinto" in before["SIEVE"].split()  # type: ignore[union-attr]
        assert before["NOTIFY"] == "mailto"
        assert before["MAXREDIRECTS"] == "4"
        assert "PLAIN" in before["SASL"].split()  # type: ignore[union-attr]
        assert "OWNER" not in before  # §1.7: "MUST NOT be returned in unauthenticated state"
        assert "STARTTLS" not in before  # a tls: none listener
        assert "UNAUTHENTICATE" in before
        await client.authenticate_plain(USER, "correct horse")
        after = capabilities((await client.transact("CAPABILITY")).lines)
        assert after["OWNER"] == USER


async def test_put_list_activate_get_rename_delete(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        assert (await client.putscript("main", SCRIPT)).status == "OK"
        await client.transact(b'PUTSCRIPT "other" ' + arg("keep;"))
        assert (await client.transact("LISTSCRIPTS")).lines == [[b"main"], [b"other"]]
        await client.transact('SETACTIVE "main"')
        listing = await client.transact("LISTSCRIPTS")
        assert listing.lines == [[b"main", "ACTIVE"], [b"other"]]
        got = await client.transact('GETSCRIPT "main"')
        assert got.lines == [[SCRIPT.encode()]]
        # The compiled form is stored in the cache form delivery decodes and runs.
        active = await server.kernel.store.sieve.active(server.account)
        assert active is not None
        compiled = decode_compiled(active[2])
        assert compiled is not None and compiled.requires == frozenset({"fileinto"})
        assert runnable(compiled, default_registry())
        # §2.10: the active script cannot be deleted.
        await client.transact('DELETESCRIPT "main"', "NO", code="ACTIVE")
        # §2.11: renaming the active script keeps it active.
        await client.transact('RENAMESCRIPT "main" "renamed"')
        listing = await client.transact("LISTSCRIPTS")
        assert listing.lines == [[b"other"], [b"renamed", "ACTIVE"]]
        await client.transact('RENAMESCRIPT "other" "renamed"', "NO", code="ALREADYEXISTS")
        await client.transact('RENAMESCRIPT "nope" "x"', "NO", code="NONEXISTENT")
        # §2.8: "" deactivates; doing it twice is not an error.
        await client.transact('SETACTIVE ""')
        await client.transact('SETACTIVE ""')
        await client.transact('DELETESCRIPT "renamed"')
        await client.transact('DELETESCRIPT "renamed"', "NO", code="NONEXISTENT")
        assert (await client.transact("LISTSCRIPTS")).lines == [[b"other"]]


async def test_missing_scripts_are_nonexistent(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        await client.transact('GETSCRIPT "none"', "NO", code="NONEXISTENT")
        await client.transact('SETACTIVE "none"', "NO", code="NONEXISTENT")


async def test_putscript_replaces_and_keeps_active(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        await client.putscript("main", "keep;")
        await client.transact('SETACTIVE "main"')
        await client.transact(b'PUTSCRIPT "main" ' + arg("discard;"))
        assert (await client.transact('GETSCRIPT "main"')).lines == [[b"discard;"]]
        assert (await client.transact("LISTSCRIPTS")).lines == [[b"main", "ACTIVE"]]


async def test_invalid_script_is_refused_with_line_and_column(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        bad = 'require "fileinto";\r\nif true {\r\n  fileinto 42;\r\n}\r\n'
        reply = await client.putscript("bad", bad)
        assert reply.status == "NO"
        assert reply.text is not None and reply.text.startswith("line 3, column 12:")
        assert "fileinto" in reply.text
        # §2.6: "Any script that fails the validity test MUST NOT be stored on the server."
        assert (await client.transact("LISTSCRIPTS")).lines == []
        unknown = await client.putscript("bad", 'require "nosuchext";\r\nkeep;\r\n')
        assert unknown.status == "NO" and "nosuchext" in (unknown.text or "")
        # A failed PUTSCRIPT leaves the old script alone.
        await client.putscript("keepme", "keep;")
        assert (await client.putscript("keepme", "if {")).status == "NO"
        assert (await client.transact('GETSCRIPT "keepme"')).lines == [[b"keep;"]]


async def test_many_errors_come_as_a_multiline_text(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        reply = await client.command(b"CHECKSCRIPT " + arg("fileinto 1;\r\nredirect 2;\r\n"))
        assert reply.status == "NO"
        lines = (reply.text or "").split("\r\n")
        assert len(lines) == 2 and lines[0].startswith("line 1") and lines[1].startswith("line 2")


async def test_non_utf8_script_is_refused(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        reply = await client.putscript("bin", b"keep;\r\n# \xff\xfe\r\n")
        assert reply.status == "NO" and "line 2, column 3" in (reply.text or "")


async def test_empty_script_is_refused(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        assert (await client.putscript("empty", "")).status == "NO"


async def test_checkscript_stores_nothing(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        await client.transact(b"CHECKSCRIPT " + arg(SCRIPT))
        reply = await client.command(b"CHECKSCRIPT " + arg("#comment\r\nInvalidSieveCommand\r\n"))
        assert reply.status == "NO" and (reply.text or "").startswith("line ")
        assert (await client.transact("LISTSCRIPTS")).lines == []


async def test_redirect_limit_gives_warnings(tmp_path: Path) -> None:
    script = "".join(f'redirect "u{i}@example.net";\r\n' for i in range(6))
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        reply = await client.putscript("fwd", script)
        assert reply.status == "OK" and reply.code == "WARNINGS"
        assert (reply.text or "").startswith("line 5:")
        check = await client.command(b"CHECKSCRIPT " + arg(script))
        assert check.status == "OK" and check.code == "WARNINGS"


async def test_quota_on_script_count_and_size(tmp_path: Path) -> None:
    config = {"managesieve": {"max_scripts": 2, "max_script_size": 64}}
    async with managesieve_server(tmp_path, config) as server, server.client(login=True) as client:
        await client.transact('HAVESPACE "a" 64')
        await client.transact('HAVESPACE "a" 65', "NO", code="QUOTA/MAXSIZE")
        assert (await client.putscript("a", "keep;")).status == "OK"
        assert (await client.putscript("b", "keep;")).status == "OK"
        await client.transact('HAVESPACE "c" 10', "NO", code="QUOTA/MAXSCRIPTS")
        await client.transact('HAVESPACE "a" 10')  # replacing an existing one is fine
        reply = await client.putscript("c", "keep;")
        assert (reply.status, reply.code) == ("NO", "QUOTA/MAXSCRIPTS")
        big = "# " + "x" * 70 + "\r\nkeep;\r\n"
        reply = await client.putscript("a", big)
        assert (reply.status, reply.code) == ("NO", "QUOTA/MAXSIZE")
        assert (await client.transact('GETSCRIPT "a"')).lines == [[b"keep;"]]
        # CHECKSCRIPT does not check quotas (§2.12) but the literal limit still holds.
        assert (await client.command(b"CHECKSCRIPT " + arg(big))).status == "NO"


async def test_script_names(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        name = "Ünïcødé ✓ " + "x" * 118  # 128 characters
        assert (await client.putscript(name, "keep;")).status == "OK"
        assert (await client.transact("LISTSCRIPTS")).lines == [[name.encode()]]
        for bad in ["a\tb", "a\u2028b", "x" * 129, ""]:
            assert (await client.putscript(bad, "keep;")).status == "NO", repr(bad)
        # A name needing a literal and a quote character round-trips.
        await client.putscript('clever"script', "keep;")
        names = (await client.transact("LISTSCRIPTS")).lines
        assert [b'clever"script'] in names


async def test_noop_tag_and_unauthenticate(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        reply = await client.transact('NOOP "STARTTLS-SYNC-42"')
        assert (reply.code, reply.code_arg) == ("TAG", b"STARTTLS-SYNC-42")
        assert (await client.transact("NOOP")).code is None  # §2.13
        await client.transact("UNAUTHENTICATE")
        await client.transact("LISTSCRIPTS", "NO")
        await client.transact("UNAUTHENTICATE", "NO")  # §2.14.1: only when authenticated
        assert (await client.authenticate_plain(USER, "correct horse")).status == "OK"
        await client.transact("LISTSCRIPTS")


async def test_commands_before_login_are_refused(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        for command in ["LISTSCRIPTS", 'GETSCRIPT "a"', 'SETACTIVE ""', 'HAVESPACE "a" 1']:
            await client.transact(command, "NO")
        assert (await client.putscript("a", "keep;")).status == "NO"
        await client.transact("NOOP")
        assert await server.kernel.store.sieve.list(server.account) == []


async def test_logout_closes(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        await client.send(b"LOGOUT\r\nNOOP\r\n")
        assert (await client.response()).status == "OK"
        # §2.3: commands after LOGOUT are ignored; the server closes.
        assert await client.until_closed() == b""


async def test_pipelined_commands_are_answered_in_order(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        await client.send(
            b'PUTSCRIPT "a" {5+}\r\nkeep;\r\nSETACTIVE "a"\r\nLISTSCRIPTS\r\nNOOP "end"\r\n'
        )
        assert (await client.response()).status == "OK"
        assert (await client.response()).status == "OK"
        assert (await client.response()).lines == [[b"a", "ACTIVE"]]
        assert (await client.response()).code_arg == b"end"


async def test_synchronising_literal_gets_a_continuation(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        await client.send(b'PUTSCRIPT "sync" {5}\r\n')
        continuation = await client.tokens()
        assert continuation[0] == "+"
        await client.send(b"keep;\r\n")
        assert (await client.response()).status == "OK"
        assert (await client.transact('GETSCRIPT "sync"')).lines == [[b"keep;"]]


async def test_concurrent_uploads_cannot_overshoot_the_quota(tmp_path: Path) -> None:
    config = {"managesieve": {"max_scripts": 1}}
    async with managesieve_server(tmp_path, config) as server:
        statuses: list[tuple[str, str | None]] = []

        async def upload(name: str) -> None:
            async with server.client(login=True) as client:
                reply = await client.putscript(name, "keep;")
                statuses.append((reply.status, reply.code))

        async with trio.open_nursery() as nursery:
            for name in ("one", "two", "three"):
                nursery.start_soon(upload, name)
        assert sorted(statuses) == [("NO", "QUOTA/MAXSCRIPTS")] * 2 + [("OK", None)]
        assert len(await server.kernel.store.sieve.list(server.account)) == 1
