"""Run Cyrus IMAP's JMAP (Debian's ``cyrus-common``, ``cyrus-caldav``) on a spare port to compare.

The JMAP benchmark's reference server. :func:`cyrus` writes a configuration
under a temporary directory and starts Cyrus's ``master`` in the foreground from
it; the packages' own service and files under ``/etc`` and ``/var`` are not used:

* ``imapd.conf``: Debian's ``/etc/imapd.conf`` settings with every path moved
  into the directory (process and lock files on ``/dev/shm``, as Debian keeps
  them on the ``/run`` tmpfs), plus what JMAP needs (``httpmodules: jmap``,
  ``conversations: yes``) and the advertised JMAP request limits raised to the
  64 concurrent requests our benchmark configuration allows;
* ``cyrus.conf``: ``httpd`` on a free loopback port (Cyrus cannot bind port 0),
  ``lmtpd`` on a Unix socket, and the usual database recovery/checkpoint; each
  command gets ``-C`` since ``master`` does not pass its own on;
* a sasldb holding one user, ``bench`` (realm ``localhost``, the servername),
  which ``httpd`` checks HTTP Basic credentials against (SASL auxprop).

The user's INBOX is filled with the messages ``bench_jmap.message`` makes (the
same generator our server is filled from): see :func:`_fill`.

``python tests/bench/_cyrus.py [--messages 10000] [--query-cache]`` starts one,
prints the arguments to pass to ``bench_jmap.py`` and runs until Ctrl-C or
SIGTERM; ``python tests/bench/bench_jmap.py --target cyrus`` (or ``--target
ours,cyrus``) does it all in one command. Cyrus is not a dependency: install
it with ``apt-get install cyrus-common cyrus-caldav sasl2-bin`` (Debian 12
ships Cyrus 3.6 with JMAP built in). ``cyrus-imapd`` is not needed, and Debian
does not let it be installed next to ``dovecot-imapd`` (both provide and
conflict with ``imap-server``), which the IMAP benchmark compares against.
Cyrus logs to syslog only (``/dev/log``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["CYRUS_BIN", "cyrus", "installed"]

USER, PASSWORD = "bench", "bench-password"
CYRUS_BIN = Path("/usr/lib/cyrus/bin")
SASLPASSWD2 = "/usr/sbin/saslpasswd2"
SHM = Path("/dev/shm")

IMAPD_CONF = """\
configdirectory: {root}/lib
defaultpartition: default
partition-default: {root}/spool
sievedir: {root}/sieve
proc_path: {run}/proc
mboxname_lockpath: {run}/lock
lmtpsocket: {run}/socket/lmtp
idlesocket: {run}/socket/idle
notifysocket: {run}/socket/notify
servername: localhost
admins: cyrus
unixhierarchysep: no
altnamespace: no
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {root}/sasldb2
autocreate_quota: 0
autocreate_post: yes
hashimapspool: true
umask: 077
conversations: yes
conversations_db: twoskip
httpmodules: jmap
httpallowcompress: no
jmap_max_concurrent_requests: 64
jmap_max_concurrent_upload: 64
"""

# Cyrus's optional JMAP query caches (off by default and in Debian's imapd.conf).
QUERY_CACHE = """\
jmap_querycache_max_age: 5m
"""

CYRUS_CONF = """\
START {{
  recover cmd="ctl_cyrusdb -C {conf} -r"
}}
SERVICES {{
  lmtp cmd="lmtpd -C {conf}" listen="{run}/socket/lmtp" prefork=1 maxchild=20
  http cmd="httpd -C {conf}" listen="127.0.0.1:{http}" prefork=4 maxchild=100
}}
EVENTS {{
  checkpoint cmd="ctl_cyrusdb -C {conf} -c" period=30
}}
"""


def installed() -> bool:
    tools = ("master", "httpd", "lmtpd", "mbpath", "reconstruct")
    return all((CYRUS_BIN / tool).exists() for tool in tools) and Path(SASLPASSWD2).exists()


def _free_port() -> int:
    # Cyrus's master takes fixed ports; ask the kernel for one that is free now.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Cyrus master exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)  # polling for the condition, with a deadline
    raise RuntimeError(f"Cyrus did not listen on port {port} within {timeout}s")


def _fill(conf: Path, lmtp: Path, user: str, messages: int, owner: pwd.struct_passwd) -> None:
    """Put ``messages`` messages from ``bench_jmap.message`` in the user's INBOX.

    The first is delivered by LMTP, which creates the INBOX (``autocreate_post``);
    the rest are written into its spool directory as ``UID.`` files and indexed by
    ``reconstruct``, which adds files missing from the index and threads them
    into the user's conversations, as delivery would (one LMTP delivery per
    message costs Cyrus a commit each, about a minute per thousand messages here).
    """
    from bench_jmap import message

    if messages <= 0:
        return
    with smtplib.LMTP(str(lmtp)) as client:
        client.sendmail("sender0@example.net", [user], message(0))
    if messages == 1:
        return
    spool = subprocess.run(
        [str(CYRUS_BIN / "mbpath"), "-C", str(conf), "-u", user],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for n in range(1, messages):
        path = Path(spool) / f"{n + 1}."  # UID n + 1: the delivered message has UID 1
        path.write_bytes(message(n))
        os.chown(path, owner.pw_uid, owner.pw_gid)
    subprocess.run(
        [str(CYRUS_BIN / "reconstruct"), "-C", str(conf), "-q", "-u", user],
        stdout=subprocess.DEVNULL,
        check=True,
    )


@contextlib.contextmanager
def cyrus(
    messages: int, user: str = USER, password: str = PASSWORD, query_cache: bool = False
) -> Iterator[str]:
    """Start Cyrus in a temporary directory with ``messages`` in INBOX; yield the JMAP base URL.

    With ``query_cache`` each Cyrus ``httpd`` process also keeps its last
    Email/query result in memory (:data:`QUERY_CACHE`).
    """
    if not installed():
        raise RuntimeError(
            "Cyrus is not installed (apt-get install cyrus-common cyrus-caldav sasl2-bin)"
        )
    account = pwd.getpwnam("cyrus")
    root = Path(tempfile.mkdtemp(prefix="cyrus-bench-"))
    # Process and lock files on tmpfs, as Debian's /run/cyrus.
    run = Path(tempfile.mkdtemp(prefix="cyrus-bench-", dir="/dev/shm" if SHM.is_dir() else None))
    proc: subprocess.Popen[bytes] | None = None
    try:
        for sub in ("lib/db", "lib/socket", "spool", "sieve"):
            (root / sub).mkdir(parents=True)
        for sub in ("proc", "lock", "socket"):
            (run / sub).mkdir()
        http_port = _free_port()
        conf = IMAPD_CONF + (QUERY_CACHE if query_cache else "")
        (root / "imapd.conf").write_text(conf.format(root=root, run=run))
        services = CYRUS_CONF.format(conf=root / "imapd.conf", run=run, http=http_port)
        (root / "cyrus.conf").write_text(services)
        subprocess.run(
            [SASLPASSWD2, "-p", "-c", "-u", "localhost", "-f", str(root / "sasldb2"), user],
            input=password.encode(),
            check=True,
        )
        for path in [root, *root.rglob("*"), run, *run.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid)
        proc = subprocess.Popen(
            [
                str(CYRUS_BIN / "master"),
                "-C",
                str(root / "imapd.conf"),
                "-M",
                str(root / "cyrus.conf"),
                "-p",
                str(root / "master.pid"),
                "-L",
                str(root / "master.log"),
            ],
        )
        _wait_listening(http_port, proc, 60)
        start = time.perf_counter()
        _fill(root / "imapd.conf", run / "socket" / "lmtp", user, messages, account)
        elapsed = time.perf_counter() - start
        if messages:
            print(
                f"Cyrus: {messages} messages loaded in {elapsed:.1f}s ({messages / elapsed:.0f}/s)",
                flush=True,
            )
        yield f"http://127.0.0.1:{http_port}"
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(run, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--query-cache", action="store_true", help="turn on Cyrus's query caches")
    args = parser.parse_args()
    if not installed():
        print("Cyrus is not installed (apt-get install cyrus-common cyrus-caldav sasl2-bin)")
        return 1
    # Stop cleanly on SIGTERM too, and on SIGINT even when started in the background.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with cyrus(args.messages, query_cache=args.query_cache) as url:
        print(f"Cyrus JMAP: --url {url} --user {USER} --password {PASSWORD}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
