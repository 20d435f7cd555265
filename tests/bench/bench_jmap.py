"""JMAP load generator: a mail client's list view, flag changes and imports over HTTP.

Over one account of ``--messages`` messages (default 10,000) in INBOX, each of
``--clients`` clients (HTTP/1.1 keep-alive, one connection each) loops for
``--seconds`` over a mix and the latency of each call is recorded:

* **list view**: one request with ``Email/query`` (INBOX, ``receivedAt``
  descending, ``collapseThreads``, the first 50, ``calculateTotal``) and
  ``Email/get`` of those ids by result reference (the properties a list shows);
* **Email/set keywords**: toggle ``$seen`` on a random message;
* **Email/import**: upload a ~2 KB message and import it into INBOX.

Without ``--url`` it starts our server (``stalwart-kernel`` with ``jmap``) as a
child process on loopback and fills the account with Email/import; with
``--url``/``--user``/``--password`` it measures any JMAP server whose session
resource is at ``URL/.well-known/jmap`` (HTTP Basic auth) and whose account
already holds mail: it starts nothing and loads nothing.

For the comparison with Cyrus IMAP's JMAP (issue 8), ``--target`` names the
servers to start and measure in turn, each in a temporary directory:
``ours`` (the default) and ``cyrus``, which ``_cyrus.py`` sets up from Debian's
packages (``apt-get install cyrus-common cyrus-caldav sasl2-bin``) and fills
with the same ``--messages`` messages (by LMTP and ``reconstruct``, so its
load rate is not comparable with our Email/import rate). The whole comparison
is one command, run as root (Cyrus's files belong to its ``cyrus`` user)::

    python tests/bench/bench_jmap.py --target ours,cyrus

which prints a ``== ours ==`` and a ``== cyrus ==`` section, each as without
``--target``.
Both servers make each acknowledged write durable (our SQLite store commits
with ``synchronous=FULL``; Cyrus fsyncs its mailbox files), so the numbers
depend on the disk as much as on the CPU: compare them from one run on a quiet
machine. Cyrus runs with Debian's ``imapd.conf`` settings plus what JMAP needs
(``httpmodules: jmap``, ``conversations: yes``; see ``_cyrus.py``); its
optional Email/query result cache (``jmap_querycache_max_age``) stays off, as
Debian ships it; the target ``cyrus-cache`` turns it on (it helps little here,
since every Email/set of the mix changes the query state).

Usage: ``python tests/bench/bench_jmap.py [--messages 10000] [--clients 1,10]
[--seconds 10] [--target ours,cyrus | --url U --user X --password P]``. It
reports numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import trio
from _child_server import start_server

USER = "bench@example.org"
PASSWORD = "bench-password"
USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"]
LIST_PROPERTIES = [
    "id",
    "threadId",
    "mailboxIds",
    "keywords",
    "from",
    "subject",
    "receivedAt",
    "size",
    "preview",
    "hasAttachment",
]
CONFIG = """
config: {watch: false}
listeners:
  http: {bind: 127.0.0.1:0, protocol: http, tls: none}
jmap:
  # One account plays every client here; a real server's users each get their own.
  max_concurrent_requests: 64
  max_concurrent_upload: 64
"""


def message(n: int) -> bytes:
    body = " ".join(f"word{(n * 7 + i) % 997}" for i in range(250))
    return (
        f"From: Sender {n % 50} <sender{n % 50}@example.net>\r\n"
        f"To: {USER}\r\nSubject: Message number {n} about topic {n % 300}\r\n"
        f"Date: Mon, 23 Nov 2026 10:{n % 60:02d}:00 +0000\r\n"
        f"Message-ID: <bench-{n}-{random.random()}@example.net>\r\n\r\n{body}\r\n"
    ).encode()


class Jmap:
    """A minimal JMAP client over one keep-alive connection."""

    def __init__(self, client: httpx.AsyncClient, session: dict[str, Any], base: str) -> None:
        self.client = client
        # Cyrus gives these as paths; resolve them against the session resource.
        self.api = urljoin(base, session["apiUrl"])
        self.upload = urljoin(base, session["uploadUrl"])
        self.account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]

    @classmethod
    async def connect(cls, url: str, user: str, password: str) -> Jmap:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        client = httpx.AsyncClient(headers={"Authorization": f"Basic {token}"}, timeout=60)
        reply = await client.get(url + "/.well-known/jmap", follow_redirects=True)
        reply.raise_for_status()
        return cls(client, reply.json(), str(reply.url))

    async def call(self, calls: list[list[Any]]) -> list[list[Any]]:
        reply = await self.client.post(self.api, json={"using": USING, "methodCalls": calls})
        reply.raise_for_status()
        responses: list[list[Any]] = reply.json()["methodResponses"]
        for name, args, _ in responses:
            if name == "error":
                raise RuntimeError(f"JMAP error: {args}")
            if failed := [args[k] for k in ("notCreated", "notUpdated") if args.get(k)]:
                raise RuntimeError(f"JMAP {name} failed: {failed}")
        return responses

    async def inbox(self) -> str:
        [[_, got, _]] = await self.call(
            [["Mailbox/get", {"accountId": self.account, "properties": ["role"]}, "0"]]
        )
        return next(m["id"] for m in got["list"] if m["role"] == "inbox")

    async def import_(self, raw: bytes, inbox: str) -> str:
        url = self.upload.replace("{accountId}", self.account)
        blob = (
            await self.client.post(url, content=raw, headers={"Content-Type": "message/rfc822"})
        ).json()["blobId"]
        [[_, done, _]] = await self.call(
            [
                [
                    "Email/import",
                    {
                        "accountId": self.account,
                        "emails": {"m": {"blobId": blob, "mailboxIds": {inbox: True}}},
                    },
                    "0",
                ]
            ]
        )
        return str(done["created"]["m"]["id"])

    async def aclose(self) -> None:
        await self.client.aclose()


async def populate(url: str, target: int) -> None:
    jmap = await Jmap.connect(url, USER, PASSWORD)
    inbox = await jmap.inbox()
    [[_, query, _]] = await jmap.call(
        [
            [
                "Email/query",
                {"accountId": jmap.account, "limit": 0, "calculateTotal": True},
                "0",
            ]
        ]
    )
    missing = target - int(query["total"])
    await jmap.aclose()
    if missing <= 0:
        return
    print(f"importing {missing} messages ...", flush=True)
    start = time.perf_counter()
    counter = iter(range(missing))

    async def worker() -> None:
        client = await Jmap.connect(url, USER, PASSWORD)
        for n in counter:
            await client.import_(message(n), inbox)
        await client.aclose()

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(worker)
    elapsed = time.perf_counter() - start
    print(f"  {missing} imports in {elapsed:.1f}s ({missing / elapsed:.0f}/s)", flush=True)


def report(name: str, samples: list[float], elapsed: float) -> None:
    if not samples:
        print(f"  {name:<22} no samples")
        return
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rate = len(samples) / elapsed
    print(f"  {name:<22} {rate:>8.0f} ops/s   p50 {p50:8.2f} ms   p99 {p99:8.2f} ms")


async def run_mix(url: str, user: str, password: str, clients: int, seconds: float) -> None:
    samples: dict[str, list[float]] = {"list view": [], "Email/set keywords": [], "import": []}
    deadline = time.perf_counter() + seconds

    async def one(seed: int) -> None:
        rng = random.Random(seed)
        jmap = await Jmap.connect(url, user, password)
        inbox = await jmap.inbox()
        ids: list[str] = []
        n = 0
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            responses = await jmap.call(
                [
                    [
                        "Email/query",
                        {
                            "accountId": jmap.account,
                            "filter": {"inMailbox": inbox},
                            "sort": [{"property": "receivedAt", "isAscending": False}],
                            "collapseThreads": True,
                            "position": rng.choice([0, 0, 0, 50, 500]),
                            "limit": 50,
                            "calculateTotal": True,
                        },
                        "q",
                    ],
                    [
                        "Email/get",
                        {
                            "accountId": jmap.account,
                            "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                            "properties": LIST_PROPERTIES,
                        },
                        "g",
                    ],
                ]
            )
            samples["list view"].append(time.perf_counter() - t)
            ids = responses[0][1]["ids"] or ids
            if ids:
                email = rng.choice(ids)
                t = time.perf_counter()
                await jmap.call(
                    [
                        [
                            "Email/set",
                            {
                                "accountId": jmap.account,
                                "update": {email: {"keywords/$seen": rng.choice([True, None])}},
                            },
                            "s",
                        ]
                    ]
                )
                samples["Email/set keywords"].append(time.perf_counter() - t)
            if n % 4 == 0:
                t = time.perf_counter()
                await jmap.import_(message(rng.randrange(10**9)), inbox)
                samples["import"].append(time.perf_counter() - t)
            n += 1
        await jmap.aclose()

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for seed in range(clients):
            nursery.start_soon(one, seed)
    elapsed = time.perf_counter() - start
    print(f"{clients} client(s), {elapsed:.1f}s:", flush=True)
    for name, values in samples.items():
        report(name, values, elapsed)


async def bench(args: argparse.Namespace, url: str, user: str, password: str, fill: bool) -> None:
    if fill:
        await populate(url, args.messages)
    for clients in args.clients:
        await run_mix(url, user, password, clients, args.seconds)


def run_ours(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_server(Path(tmp), CONFIG, ["directory", "jmap"], "http", USER, PASSWORD)
        try:
            trio.run(bench, args, f"http://127.0.0.1:{port}", USER, PASSWORD, True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def run_cyrus(args: argparse.Namespace, query_cache: bool = False) -> None:
    import _cyrus

    with _cyrus.cyrus(args.messages, query_cache=query_cache) as url:
        trio.run(bench, args, url, _cyrus.USER, _cyrus.PASSWORD, False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--clients", default="1,10", type=lambda s: [int(n) for n in s.split(",")])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--target",
        type=lambda s: s.split(","),
        help="servers to start and measure in turn: ours (the default), cyrus, cyrus-cache",
    )
    parser.add_argument("--url")
    parser.add_argument("--user", default=USER)
    parser.add_argument("--password", default=PASSWORD)
    args = parser.parse_args()
    if args.url is not None:
        trio.run(bench, args, args.url.rstrip("/"), args.user, args.password, False)
        return 0
    runners: dict[str, Callable[[argparse.Namespace], None]] = {
        "ours": run_ours,
        "cyrus": run_cyrus,
        "cyrus-cache": lambda args: run_cyrus(args, query_cache=True),
    }
    for target in args.target or ["ours"]:
        if target not in runners:
            parser.error(f"unknown target {target!r} ({', '.join(runners)})")
        if args.target is not None:
            print(f"== {target} ==", flush=True)
        runners[target](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
