"""Upload, download (RFC 8620 §6.1, §6.2) and Blob/copy (§6.3) over real HTTP."""

from __future__ import annotations

from pathlib import Path

import trio
from jmap_support import CORE, OTHER, OTHER_PASSWORD, USER, basic, jmap_server

from kernel.store import RIGHTS
from plugins.jmap.blobs import blob_id_for_hash, part_blob_id
from plugins.jmap.ids import ACCOUNT, encode_id

TIMEOUT = 20
MULTIPART = (
    b"From: bob@example.org\r\nTo: ann@example.org\r\nSubject: files\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
    b"--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    b"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="a.bin"\r\n\r\nAAECAwQF/w==\r\n'
    b"--XX--\r\n"
)


async def test_jmap_upload_download_exact_bytes(tmp_path: Path) -> None:
    data = bytes(range(256)) * 64 + b"\r\n\x00end"
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            upload_url = server.base + f"/jmap/upload/{server.account_id}/"
            response = await server.client.post(
                upload_url, content=data, headers={**basic(), "Content-Type": "image/png"}
            )
            assert response.status_code in (200, 201)
            uploaded = response.json()
            assert uploaded["accountId"] == server.account_id
            assert uploaded["type"] == "image/png"
            assert uploaded["size"] == len(data)
            blob_id = uploaded["blobId"]
            # Same bytes again: the same blob id (§6.1 MAY).
            again = await server.client.post(upload_url, content=data, headers=basic())
            assert again.json()["blobId"] == blob_id
            url = server.base + f"/jmap/download/{server.account_id}/{blob_id}/r%C3%A9sum%C3%A9.pdf"
            download = await server.client.get(
                url, params={"accept": "application/pdf"}, headers=basic()
            )
            assert download.status_code == 200
            assert download.content == data
            assert download.headers["content-type"] == "application/pdf"
            disposition = download.headers["content-disposition"]
            assert "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf" in disposition
            assert "immutable" in download.headers["cache-control"]
            # 404 for unknown, malformed and other accounts' blob ids (problem details).
            for bad in (
                f"/jmap/download/{server.account_id}/G{'0' * 64}/x",
                f"/jmap/download/{server.account_id}/nonsense/x",
                f"/jmap/download/A999/{blob_id}/x",
                f"/jmap/download/garbage/{blob_id}/x",
            ):
                missing = await server.client.get(server.base + bad, headers=basic())
                assert missing.status_code == 404, bad
                assert missing.headers["content-type"].startswith("application/problem+json")
            # Upload to an account that is not ours.
            refused = await server.client.post(
                server.base + "/jmap/upload/A999/", content=b"x", headers=basic()
            )
            assert refused.status_code == 404


async def test_jmap_download_message_and_part_blobs(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            email = await server.deliver(MULTIPART)
            row = (await server.kernel.store.emails.rows(server.account, [email]))[email]
            blob_id = blob_id_for_hash(row.blob)
            base = server.base + f"/jmap/download/{server.account_id}/"
            whole = await server.client.get(
                base + f"{blob_id}/m.eml", params={"accept": "message/rfc822"}, headers=basic()
            )
            assert whole.status_code == 200 and whole.content == MULTIPART
            part = await server.client.get(
                base + f"{part_blob_id(blob_id, '2')}/a.bin",
                params={"accept": "application/octet-stream"},
                headers=basic(),
            )
            assert part.status_code == 200
            assert part.content == b"\x00\x01\x02\x03\x04\x05\xff"
            text = await server.client.get(
                base + f"{part_blob_id(blob_id, '1')}/t.txt", headers=basic()
            )
            assert text.content == b"hello"
            assert text.headers["content-type"].startswith("text/plain")
            nothing = await server.client.get(
                base + f"{part_blob_id(blob_id, '9')}/x", headers=basic()
            )
            assert nothing.status_code == 404


ATTACHED = b"From: carol@example.org\r\nSubject: inner\r\n\r\ninner body\r\n"
FORWARD = (
    b"From: bob@example.org\r\nTo: ann@example.org\r\nSubject: fwd\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=YY\r\n\r\n"
    b"--YY\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    b"--YY\r\nContent-Type: message/rfc822\r\n\r\n" + ATTACHED + b"\r\n--YY--\r\n"
)


async def test_jmap_download_attached_message_blob(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            email = await server.deliver(FORWARD)
            row = (await server.kernel.store.emails.rows(server.account, [email]))[email]
            blob_id = blob_id_for_hash(row.blob)
            base = server.base + f"/jmap/download/{server.account_id}/"
            attached = await server.client.get(
                base + f"{part_blob_id(blob_id, '2')}/inner.eml",
                params={"accept": "message/rfc822"},
                headers=basic(),
            )
            assert attached.status_code == 200
            assert attached.content == ATTACHED


async def test_jmap_upload_limits(tmp_path: Path) -> None:
    config = {"jmap": {"max_size_upload": 1024}}
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, config) as server:
            url = server.base + f"/jmap/upload/{server.account_id}/"
            fits = await server.client.post(url, content=b"x" * 1024, headers=basic())
            assert fits.status_code in (200, 201)
            too_big = await server.client.post(url, content=b"x" * 1025, headers=basic())
            assert too_big.status_code == 400
            problem = too_big.json()
            assert problem["type"] == "urn:ietf:params:jmap:error:limit"
            assert problem["limit"] == "maxSizeUpload"


async def test_jmap_upload_expires(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, {"jmap": {"upload_expiry": 0}}) as server:
            url = server.base + f"/jmap/upload/{server.account_id}/"
            blob_id = (await server.client.post(url, content=b"gone", headers=basic())).json()[
                "blobId"
            ]
            download = await server.client.get(
                server.base + f"/jmap/download/{server.account_id}/{blob_id}/x", headers=basic()
            )
            assert download.status_code == 404


async def test_jmap_blob_copy_between_accounts(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            directory = server.kernel.store.directory
            bob = (await directory.add_account(OTHER, OTHER_PASSWORD)).id
            bob_id = encode_id(ACCOUNT, bob)
            # Ann shares her INBOX with Bob: Bob's session lists Ann's account.
            await server.kernel.store.mailboxes.set_rights(
                server.account, server.inbox, bob, RIGHTS
            )
            bob_auth = basic(OTHER, OTHER_PASSWORD)
            session = (
                await server.client.get(server.base + "/.well-known/jmap", headers=bob_auth)
            ).json()
            shared = session["accounts"][server.account_id]
            assert shared["isPersonal"] is False and shared["name"] == USER
            email = await server.deliver(MULTIPART)
            row = (await server.kernel.store.emails.rows(server.account, [email]))[email]
            blob_id = blob_id_for_hash(row.blob)
            response = await server.client.post(
                server.base + "/jmap/api/",
                json={
                    "using": [CORE],
                    "methodCalls": [
                        [
                            "Blob/copy",
                            {
                                "fromAccountId": server.account_id,
                                "accountId": bob_id,
                                "blobIds": [blob_id, "G" + "1" * 64],
                            },
                            "c",
                        ],
                        [
                            "Blob/copy",
                            {"fromAccountId": "A999", "accountId": bob_id, "blobIds": []},
                            "d",
                        ],
                        [
                            "Blob/copy",
                            {"fromAccountId": bob_id, "accountId": bob_id, "blobIds": []},
                            "e",
                        ],
                    ],
                },
                headers=bob_auth,
            )
            copy, unknown, same = response.json()["methodResponses"]
            assert copy[1]["copied"] == {blob_id: blob_id}
            assert copy[1]["notCopied"]["G" + "1" * 64]["type"] == "notFound"
            assert unknown[1]["type"] == "fromAccountNotFound"
            assert same[1]["type"] == "invalidArguments"
            download = await server.client.get(
                server.base + f"/jmap/download/{bob_id}/{blob_id}/m.eml", headers=bob_auth
            )
            assert download.status_code == 200 and download.content == MULTIPART
            # Ann cannot read Bob's account at all.
            other = await server.client.get(
                server.base + f"/jmap/download/{bob_id}/{blob_id}/m.eml", headers=basic()
            )
            assert other.status_code == 404


async def test_jmap_upload_larger_than_quart_default(tmp_path: Path) -> None:
    # Quart's own body limit (16 MiB) must not cap JMAP's maxSizeUpload (50 MiB).
    data = bytes(range(256)) * (17 * 1024 * 4)  # 17 MiB
    with trio.fail_after(TIMEOUT * 3):
        async with jmap_server(tmp_path) as server:
            url = server.base + f"/jmap/upload/{server.account_id}/"
            response = await server.client.post(url, content=data, headers=basic())
            assert response.status_code in (200, 201), response.text
            assert response.json()["size"] == len(data)
            blob_id = response.json()["blobId"]
            download = await server.client.get(
                server.base + f"/jmap/download/{server.account_id}/{blob_id}/big", headers=basic()
            )
            assert download.content == data


async def test_jmap_uploads_only_visible_to_uploader_in_shared_accounts(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            directory = server.kernel.store.directory
            bob = (await directory.add_account(OTHER, OTHER_PASSWORD)).id
            await server.kernel.store.mailboxes.set_rights(
                server.account, server.inbox, bob, RIGHTS
            )
            bob_auth = basic(OTHER, OTHER_PASSWORD)
            ann_url = server.base + f"/jmap/upload/{server.account_id}/"
            by_bob = await server.client.post(ann_url, content=b"bob's secret", headers=bob_auth)
            assert by_bob.status_code in (200, 201)
            blob_id = by_bob.json()["blobId"]
            download = server.base + f"/jmap/download/{server.account_id}/{blob_id}/x"
            # RFC 8620 §6.1: an unreferenced blob is only the uploader's, even when shared.
            assert (await server.client.get(download, headers=bob_auth)).content == b"bob's secret"
            assert (await server.client.get(download, headers=basic())).status_code == 404
            by_ann = await server.client.post(ann_url, content=b"ann's own", headers=basic())
            ann_blob = by_ann.json()["blobId"]
            ann_download = server.base + f"/jmap/download/{server.account_id}/{ann_blob}/x"
            assert (await server.client.get(ann_download, headers=basic())).status_code == 200
            assert (await server.client.get(ann_download, headers=bob_auth)).status_code == 404
