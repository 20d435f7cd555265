"""SORT and THREAD: RFC 5256 base subjects, both threading algorithms, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.mail import parse_message
from plugins.imap.sorting import SortInfo, base_subject, is_reply_or_forward, sort_uids
from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server
from plugins.imap.threads import ordered_subject, references


@pytest.mark.parametrize(
    ("subject", "base", "reply"),
    [
        ("Hello", "Hello", False),
        ("Re: Hello", "Hello", True),
        ("RE: re: Fwd: Hello", "Hello", True),
        ("[list] Re: Hello (fwd)", "Hello", True),
        ("[fwd: Re: Hello]", "Hello", True),
        ("[list] [tag]", "[tag]", False),
        ("  spaced   out\t subject  ", "spaced out subject", False),
        ("Re:", "", True),
        ("Re [2]: counted", "counted", True),
        (None, "", False),
    ],
)
def test_sort_base_subject(subject: str | None, base: str, reply: bool) -> None:
    assert base_subject(subject) == base
    assert is_reply_or_forward(subject) == reply


def _info(
    uid: int, subject: str, date: str, msg_id: str, refs: str = "", size: int = 0
) -> SortInfo:
    raw = (
        f"From: u{uid}@example.org\r\nSubject: {subject}\r\nDate: {date}\r\n"
        f"Message-ID: <{msg_id}>\r\n" + (f"References: {refs}\r\n" if refs else "") + "\r\nx\r\n"
    ).encode()
    return SortInfo.of(uid, size or len(raw), float(uid), parse_message(raw))


def test_sort_orders_by_criteria_then_uid() -> None:
    infos = [
        _info(1, "b", "Mon, 4 Mar 2024 10:00:00 +0000", "1@x", size=30),
        _info(2, "Re: a", "Mon, 4 Mar 2024 09:00:00 +0000", "2@x", size=10),
        _info(3, "a", "Mon, 4 Mar 2024 11:00:00 -0200", "3@x", size=30),
    ]
    assert sort_uids(infos, [("SUBJECT", False)]) == [2, 3, 1]
    assert sort_uids(infos, [("DATE", True)]) == [3, 1, 2]
    assert sort_uids(infos, [("SIZE", False), ("ARRIVAL", True)]) == [2, 3, 1]
    assert sort_uids(infos, [("SIZE", True)]) == [1, 3, 2]  # ties by UID


def test_sort_threads_ordered_subject() -> None:
    infos = [
        _info(1, "one", "Mon, 4 Mar 2024 10:00:00 +0000", "1@x"),
        _info(2, "Re: one", "Mon, 4 Mar 2024 11:00:00 +0000", "2@x"),
        _info(3, "two", "Mon, 4 Mar 2024 09:00:00 +0000", "3@x"),
        _info(4, "re: ONE", "Mon, 4 Mar 2024 12:00:00 +0000", "4@x"),
    ]
    assert ordered_subject(infos) == [(3, []), (1, [(2, []), (4, [])])]


def test_sort_threads_references() -> None:
    d = "Mon, 4 Mar 2024 1{}:00:00 +0000"
    infos = [
        _info(1, "root", d.format(0), "r@x"),
        _info(2, "Re: root", d.format(1), "a@x", "<r@x>"),
        _info(3, "Re: root", d.format(2), "b@x", "<r@x> <a@x>"),
        _info(4, "Re: root", d.format(3), "c@x", "<r@x>"),
        _info(5, "other", d.format(4), "o@x", "<missing@x>"),
        _info(6, "lonely", d.format(5), "l@x"),
        _info(7, "Re: lonely", d.format(6), "m@x"),  # merged by subject
    ]
    assert references(infos) == [
        (1, [(2, [(3, [])]), (4, [])]),
        (5, []),
        (6, [(7, [])]),
    ]


def test_sort_threads_references_survive_loops_and_duplicates() -> None:
    d = "Mon, 4 Mar 2024 10:00:0{} +0000"
    infos = [
        _info(1, "x", d.format(1), "a@x", "<b@x>"),
        _info(2, "y", d.format(2), "b@x", "<a@x>"),
        _info(3, "z", d.format(3), "a@x"),  # duplicate Message-ID
    ]
    forest = references(infos)
    flat: list[int | None] = []

    def walk(nodes: list) -> None:
        for n, children in nodes:
            flat.append(n)
            walk(children)

    walk(forest)
    assert sorted(n for n in flat if n is not None) == [1, 2, 3]


async def test_sort_and_thread_commands(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await t.transact(f"LOGIN {USER} {PASSWORD}")
        mails = [
            ("zeta", "z@x", "", "Tue, 5 Mar 2024 10:00:00 +0000"),
            ("Re: alpha", "r@x", "<a@x>", "Mon, 4 Mar 2024 12:00:00 +0000"),
            ("alpha", "a@x", "", "Mon, 4 Mar 2024 10:00:00 +0000"),
        ]
        for subject, msg_id, refs, date in mails:
            raw = (
                f"From: {subject[0]}@example.org\r\nSubject: {subject}\r\nDate: {date}\r\n"
                f"Message-ID: <{msg_id}>\r\n"
                + (f"References: {refs}\r\n" if refs else "")
                + "\r\nx\r\n"
            ).encode()
            await t.transact(b"APPEND INBOX {%d+}\r\n" % len(raw) + raw)
        await t.transact("SELECT INBOX")
        res = await t.transact("SORT (SUBJECT) UTF-8 ALL")
        assert res.lines(b"SORT") == [b"* SORT 2 3 1"]  # equal base subjects: by number
        res = await t.transact("UID SORT (REVERSE DATE) US-ASCII ALL")
        assert res.lines(b"SORT") == [b"* SORT 1 2 3"]
        tag = t.next_tag().encode()
        res = await t.transact("SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL")
        assert res.lines(b"ESEARCH") == [
            b'* ESEARCH (TAG "%s") MIN 2 MAX 1 COUNT 3 ALL 2:3,1' % tag
        ]
        res = await t.transact("THREAD REFERENCES UTF-8 ALL")
        assert res.lines(b"THREAD") == [b"* THREAD (3 2)(1)"]
        res = await t.transact("UID THREAD ORDEREDSUBJECT UTF-8 NOT SUBJECT zeta")
        assert res.lines(b"THREAD") == [b"* THREAD (3 2)"]
        res = await t.transact("THREAD REFERENCES UTF-8 SUBJECT nothing")
        assert res.lines(b"THREAD") == [b"* THREAD"]
