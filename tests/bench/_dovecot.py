"""Run Dovecot (Debian's ``dovecot-imapd``/``dovecot-pop3d``) on spare ports for comparison.

The benchmarks' reference server: ``python tests/bench/_dovecot.py`` writes a
minimal configuration under a temporary directory (passwd-file users with a
Maildir, no TLS, plaintext logins allowed), starts ``dovecot -F`` and prints the
arguments to pass to ``bench_imap.py`` / ``bench_pop3.py``; Ctrl-C stops it.
With ``--pop3-accounts N`` it also creates ``bench0@example.org`` ...
``bench{N-1}@...``, each Maildir filled with ``--messages`` messages made by
``bench_pop3.make_message`` (the same generator our server is filled from).
Dovecot is not a dependency: install it with ``apt-get install dovecot-imapd
dovecot-pop3d`` (the packages' own service is not used).
"""

from __future__ import annotations

import argparse
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

USER, PASSWORD = "bench@example.org", "bench-password"

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_max_userip_connections = 1000
first_valid_uid = {uid}
default_internal_user = {user}
default_login_user = {user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


def fill_maildirs(home: Path, users: list[str], messages: int, size: int) -> None:
    """Write each user's messages straight into ``Maildir/cur`` (as delivered and seen)."""
    from bench_pop3 import make_message

    for user in users:
        maildir = home / user / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True)
        rng = random.Random(user)
        for n in range(messages):
            (maildir / "cur" / f"{1_700_000_000 + n}.M{n}P1.bench:2,").write_bytes(
                make_message(rng, n, size)
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imap-port", type=int, default=10143)
    parser.add_argument("--pop3-port", type=int, default=10110)
    parser.add_argument("--user", default="dovecot", help="system user Dovecot runs mail as")
    parser.add_argument("--pop3-accounts", type=int, default=0)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--size", type=int, default=4096)
    args = parser.parse_args()
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(dovecot).exists():
        print("dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)")
        return 1
    account = pwd.getpwnam(args.user)
    root = Path(tempfile.mkdtemp(prefix="dovecot-bench-"))
    users = [USER, *(f"bench{n}@example.org" for n in range(args.pop3_accounts))]
    (root / "passwd").write_text("".join(f"{user}:{PASSWORD}\n" for user in users))
    (root / "home").mkdir()
    fill_maildirs(root / "home", users[1:], args.messages, args.size)
    for path in [root / "home", *(root / "home").rglob("*")]:
        os.chown(path, account.pw_uid, account.pw_gid)
    (root / "dovecot.conf").write_text(
        CONFIG.format(
            root=root,
            uid=account.pw_uid,
            gid=account.pw_gid,
            user=args.user,
            imap=args.imap_port,
            pop3=args.pop3_port,
        )
    )
    root.chmod(0o755)
    print(
        f"Dovecot in {root}\n  IMAP: --host 127.0.0.1 --port {args.imap_port} "
        f"--user {USER} --password {PASSWORD}\n  POP3: --host 127.0.0.1 --port "
        f"{args.pop3_port} --user {USER} --password {PASSWORD}",
        flush=True,
    )
    try:
        return subprocess.call([dovecot, "-F", "-c", str(root / "dovecot.conf")])
    except KeyboardInterrupt:
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
