"""Random and mutated commands: the server always answers and the mailbox stays whole.

A seeded generator mutates valid commands (deletions, insertions of IMAP specials and
8-bit bytes, duplicated or swapped tokens, huge numbers, case changes) and sends each
one followed by a probe ``NOOP``; the probe must always be answered. At the end, the
fuzzed session's view and a fresh session agree with the store about the mailbox.
"""

from __future__ import annotations

import random
from pathlib import Path

from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server, message

CORPUS = [
    b"NOOP",
    b"CAPABILITY",
    b"SELECT INBOX",
    b"EXAMINE INBOX",
    b"SELECT INBOX (CONDSTORE)",
    b"FETCH 1:* (FLAGS)",
    b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])",
    b"FETCH 2 (BODY[1]<0.5> BINARY[1] BINARY.SIZE[1])",
    b"UID FETCH 1:* (UID RFC822.SIZE ENVELOPE BODYSTRUCTURE INTERNALDATE)",
    b"FETCH 1:3 (MODSEQ EMAILID THREADID PREVIEW)",
    b"STORE 1 +FLAGS (\\Seen $Fuzz)",
    b"UID STORE 1:* -FLAGS.SILENT (\\Seen)",
    b"STORE 2 (UNCHANGEDSINCE 5) FLAGS (\\Flagged)",
    b"SEARCH OR FROM bob SUBJECT m1",
    b'SEARCH CHARSET UTF-8 TEXT "hi" SINCE 1-Jan-2020 NOT DELETED',
    b"UID SEARCH RETURN (MIN MAX COUNT SAVE) ALL",
    b"FETCH $ (UID)",
    b"SEARCH LARGER 10 SMALLER 100000 UID 1:* 1,2",
    b"COPY 1 Archive",
    b"UID MOVE 2 Trash",
    b'LIST "" *',
    b'LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (STATUS (MESSAGES UNSEEN))',
    b"STATUS INBOX (MESSAGES UIDNEXT UNSEEN SIZE HIGHESTMODSEQ)",
    b"CREATE fz/sub",
    b"DELETE fz/sub",
    b"RENAME fz fy",
    b"SUBSCRIBE Archive",
    b"EXPUNGE",
    b"UID EXPUNGE 1:3",
    b"ENABLE QRESYNC",
    b'ID ("name" "fuzz")',
    b"NAMESPACE",
    b'LSUB "" *',
    b"UNSELECT",
    b"CHECK",
]
SPECIALS = b'(){}[]"\\*%$:,<>. \x00\x7f\xc3\xa9~+-0123456789'


def mutate(rng: random.Random, command: bytes) -> bytes:
    data = bytearray(command)
    for _ in range(rng.randint(1, 2)):
        choice = rng.random()
        if choice < 0.25 and data:
            del data[rng.randrange(len(data))]
        elif choice < 0.5:
            data.insert(rng.randint(0, len(data)), rng.choice(SPECIALS))
        elif choice < 0.65:
            words = bytes(data).split(b" ")
            rng.shuffle(words)
            data = bytearray(b" ".join(words))
        elif choice < 0.8:
            words = bytes(data).split(b" ")
            i = rng.randrange(len(words))
            words.insert(i, words[i])
            data = bytearray(b" ".join(words))
        elif choice < 0.9:
            data = bytearray(bytes(data).replace(b"1", b"99999999999999999999", 1))
        else:
            data = bytearray(bytes(data).swapcase())
    # Line breaks and literal headers would desynchronise the probe; their framing is
    # covered by the receiver's own tests.
    return bytes(data).replace(b"\r", b"").replace(b"\n", b"").replace(b"{", b"(")


async def _login(t: Transcript) -> None:
    await t.transact(f"LOGIN {USER} {PASSWORD}")
    await t.transact("SELECT INBOX")


async def _probe(t: Transcript, tag: bytes, statuses: dict[bytes, int]) -> bool:
    """Send a NOOP tagged ``tag`` and read up to its answer, counting the fuzzed
    command's status; False if the server closed the connection."""
    try:
        await t.send(tag + b" NOOP\r\n")
        while True:
            response = await t.read_response()
            if response.startswith(b"+"):  # AUTHENTICATE or IDLE took the probe
                await t.send(b"*\r\nDONE\r\n")
                tag += b"x"
                await t.send(tag + b" NOOP\r\n")
            elif response.startswith(tag + b" "):
                return True
            elif response.startswith(b"f"):
                status = response.split(b" ")[1]
                statuses[status] = statuses.get(status, 0) + 1
    except EOFError:
        return False


async def test_fuzz_server_stays_responsive_and_consistent(tmp_path: Path) -> None:
    rng = random.Random(5)
    async with imap_server(tmp_path) as kernel:
        t = await Transcript.connect(kernel)
        await _login(t)
        for i in range(6):
            data = message(f"m{i}")
            await t.transact(b"APPEND INBOX {%d+}\r\n" % len(data) + data)
        await t.transact("CREATE fz")
        statuses: dict[bytes, int] = {}
        for n in range(400):
            command = rng.choice(CORPUS)
            if rng.random() < 0.7:  # the rest run as they are, to move the state along
                command = mutate(rng, command)
            await t.send(b"f%d " % n + command + b"\r\n")
            if not await _probe(t, b"p%d" % n, statuses):
                await t.stream.aclose()
                t = await Transcript.connect(kernel)
                await _login(t)
            if n % 5 == 4:  # back to a selected INBOX, where most commands apply
                await t.transact("SELECT INBOX")
            if n % 50 == 49:  # top the mailbox up now and then
                data = message(f"top{n}")
                await t.transact(b"APPEND INBOX {%d+}\r\n" % len(data) + data)
        assert statuses[b"OK"] > 100 and statuses[b"BAD"] > 100 and statuses[b"NO"] > 0
        await t.transact("SELECT INBOX")
        res = await t.transact("FETCH 1:* (UID)")
        seen = [int(line.split(b"UID ")[1].rstrip(b")")) for line in res.lines(b"")]
        account = (await kernel.store.directory.principal(USER)).id
        inbox = (await kernel.store.mailboxes.by_path(account, "INBOX")).id
        stored = [m.uid for m in await kernel.store.emails.in_mailbox(account, inbox)]
        assert seen == stored
        async with await Transcript.connect(kernel) as fresh:
            await _login(fresh)
            res = await fresh.transact("UID SEARCH ALL")
            assert [int(x) for x in res.lines(b"SEARCH")[0].split()[2:]] == stored
        await t.stream.aclose()
