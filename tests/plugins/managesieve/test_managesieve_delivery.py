"""A script uploaded over ManageSieve decides delivery: upload, activate, SMTP in, IMAP out."""

from __future__ import annotations

import smtplib
from pathlib import Path

import imapclient
import trio
from managesieve_support import PASSWORD, USER, managesieve_server

import plugins.imap.plugin
import plugins.smtp.plugin
from kernel.testing import listener_address

SCRIPT = (
    'require ["fileinto", "mailbox"];\r\n'
    'if header :contains "subject" "[list]" {\r\n'
    '  fileinto :create "Lists";\r\n'
    "}\r\n"
)
CONFIG = {
    "server": {"hostname": "mx.example.org"},
    "listeners": {
        "mta": {"bind": "127.0.0.1:0", "protocol": "smtp", "role": "mta", "tls": "none"},
        "imap": {"bind": "127.0.0.1:0", "protocol": "imap", "tls": "none"},
    },
    "smtp": {"queue": {"enabled": False}},
}


def _message(subject: str) -> bytes:
    return (
        f"From: carol@remote.example\r\nTo: {USER}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash(subject))}@remote.example>\r\n\r\nHello.\r\n"
    ).encode()


async def test_uploaded_script_files_mail(tmp_path: Path) -> None:
    extra = {"smtp": plugins.smtp.plugin, "imap": plugins.imap.plugin}
    async with managesieve_server(tmp_path, CONFIG, sieve=True, extra=extra) as server:
        async with server.client(login=True) as client:
            assert (await client.putscript("lists", SCRIPT)).status == "OK"
            await client.transact('SETACTIVE "lists"')
        mta = listener_address(server.kernel, "mta")
        imap = listener_address(server.kernel, "imap")

        def send_and_read() -> tuple[list[str], list[str]]:
            with smtplib.SMTP(*mta, local_hostname="client.example", timeout=15) as smtp:
                smtp.sendmail("carol@remote.example", [USER], _message("[list] news"))
                smtp.sendmail("carol@remote.example", [USER], _message("personal"))
            client = imapclient.IMAPClient(imap[0], port=imap[1], ssl=False, timeout=15)
            try:
                client.login(USER, PASSWORD)
                subjects = []
                for folder in ("INBOX", "Lists"):
                    client.select_folder(folder, readonly=True)
                    data = client.fetch(client.search(), ["ENVELOPE"])
                    subjects.append(sorted(d[b"ENVELOPE"].subject.decode() for d in data.values()))
                return subjects[0], subjects[1]
            finally:
                client.logout()

        inbox, lists = await trio.to_thread.run_sync(send_and_read)
        assert inbox == ["personal"]
        assert lists == ["[list] news"]
