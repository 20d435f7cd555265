"""Blobs: uploads (RFC 8620 §6.1) and resolving a blob id to bytes (§6.2).

Blob ids:

* a whole message, and an upload: ``G`` + the SHA-256 of the bytes in lower-case
  hex (the store's content address, so uploading a message and importing it
  give the same blob id);
* a MIME part: ``<message blob id>_<part id>``, the part id being the IMAP
  section number with ``-`` for ``.`` (``Gab12..._2-1``; ``.`` is not allowed in a
  JMAP Id, RFC 8620 §1.2). Its content is the part's body with the
  Content-Transfer-Encoding removed (RFC 8621 §4.1.4: "the raw octets of the
  part, after decoding any Content-Transfer-Encoding").

An account may read a blob when it uploaded it (and the upload has not
expired) or when one of its emails is (or contains) it (§6.2: "a blob ...
that the user does not have permission to access" is not found).

Uploads are kept per account under ``DATA/jmap/uploads/<account>/`` (an
upload by another user into a shared account under ``.../<account>/u<user>/``:
RFC 8620 §6.1, "unreferenced blobs MUST only be accessible to the uploader,
even in shared accounts"), written
to a temporary file, fsynced and renamed (durable before the upload is
answered); beside each blob a ``.type`` file holds its media type. An upload
expires ``jmap.upload_expiry`` after its last upload (the file's mtime); an
expired one reads as absent and is deleted by :func:`sweep_uploads`.
Implementation note: on a cluster (several nodes on one PostgreSQL store) the
directory must be shared, or uploads made on one node are unknown on others.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, final

import trio

from kernel.mail import decode_body, part_by_path

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel

__all__ = [
    "CURRENT_USER",
    "Blob",
    "Upload",
    "blob_id_for_hash",
    "hash_of_blob_id",
    "part_blob_id",
    "read_blob",
    "read_upload",
    "split_blob_id",
    "store_upload",
    "sweep_uploads",
]

_PREFIX = "G"
_WHOLE = re.compile(r"^G([0-9a-f]{64})$")
_PART = re.compile(r"^G([0-9a-f]{64})_([1-9][0-9]{0,4}(?:-[1-9][0-9]{0,4}){0,31})$")
_DEFAULT_TYPE = "application/octet-stream"

#: The user a JMAP request runs for (set by :func:`plugins.jmap.api.run_request`):
#: the uploader whose uploads the blob functions see when no ``user`` is passed.
CURRENT_USER: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "jmap_current_user", default=None
)


@final
@dataclass(frozen=True, slots=True)
class Upload:
    """An uploaded blob's description (the §6.1 response)."""

    account: int
    blob_id: str
    type: str
    size: int


@final
@dataclass(frozen=True, slots=True)
class Blob:
    """A readable blob: its bytes and the media type known for it (if any)."""

    data: bytes
    type: str | None


def blob_id_for_hash(sha256_hex: str) -> str:
    """The blob id of the bytes with this SHA-256 (the store's ``EmailRow.blob``)."""
    return _PREFIX + sha256_hex


def hash_of_blob_id(blob_id: str) -> str | None:
    """The SHA-256 a whole-blob id stands for, or ``None``."""
    match = _WHOLE.match(blob_id) if isinstance(blob_id, str) else None
    return match.group(1) if match else None


def part_blob_id(blob_id: str, part_id: str) -> str:
    """The blob id of part ``part_id`` (IMAP section number, ``"2.1"``) of the
    message whose blob id is ``blob_id``."""
    return f"{blob_id}_{part_id.replace('.', '-')}"


def split_blob_id(blob_id: str) -> tuple[str, tuple[int, ...] | None] | None:
    """``(sha256 hex, part path or None for the whole blob)``, or ``None`` if not ours."""
    if not isinstance(blob_id, str):
        return None
    whole = _WHOLE.match(blob_id)
    if whole:
        return whole.group(1), None
    part = _PART.match(blob_id)
    if part:
        return part.group(1), tuple(int(n) for n in part.group(2).split("-"))
    return None


# ---- uploads -------------------------------------------------------------------


def _upload_dir(kernel: Kernel, account: int, user: int | None) -> Path:
    base = kernel.data_dir / "jmap" / "uploads" / str(account)
    if user is None:
        user = CURRENT_USER.get()
    return base if user is None or user == account else base / f"u{user}"


def _clean_type(media_type: str | None) -> str:
    value = (media_type or "").strip()
    if not value or len(value) > 255 or any(ord(c) < 32 or ord(c) > 126 for c in value):
        return _DEFAULT_TYPE
    return value


def _write_durably(directory: Path, name: str, data: bytes, media_type: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for filename, content in ((name + ".type", media_type.encode()), (name, data)):
        temporary = directory / f".{filename}.{os.getpid()}.{time.monotonic_ns()}"
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / filename)
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


async def store_upload(
    kernel: Kernel,
    account: int,
    data: bytes,
    media_type: str | None,
    *,
    user: int | None = None,
) -> Upload:
    """Keep ``data`` as an upload of ``account`` by ``user`` (default: the request's
    user, else the owner); durable when this returns."""
    digest = await trio.to_thread.run_sync(lambda: hashlib.sha256(data).hexdigest())
    blob_id = blob_id_for_hash(digest)
    clean = _clean_type(media_type)
    await trio.to_thread.run_sync(
        _write_durably, _upload_dir(kernel, account, user), blob_id, data, clean
    )
    return Upload(account, blob_id, clean, len(data))


def _read_upload(directory: Path, blob_id: str, expiry: float, now: float) -> Blob | None:
    path = directory / blob_id
    try:
        if path.stat().st_mtime + expiry < now:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    try:
        media_type = (directory / (blob_id + ".type")).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        media_type = _DEFAULT_TYPE
    return Blob(data, media_type)


async def read_upload(
    kernel: Kernel, account: int, blob_id: str, expiry: float, *, user: int | None = None
) -> Blob | None:
    """The unexpired upload ``blob_id`` that ``user`` made in ``account``, or ``None``."""
    if hash_of_blob_id(blob_id) is None:
        return None
    return await trio.to_thread.run_sync(
        _read_upload, _upload_dir(kernel, account, user), blob_id, expiry, time.time()
    )


def _sweep(root: Path, expiry: float, now: float) -> int:
    removed = 0
    if not root.is_dir():
        return 0
    for path in list(root.rglob("G*")):
        if path.name.endswith(".type") or not path.is_file():
            continue
        try:
            if path.stat().st_mtime + expiry < now:
                path.unlink(missing_ok=True)
                path.with_name(path.name + ".type").unlink(missing_ok=True)
                removed += 1
        except OSError:
            continue
    return removed


async def sweep_uploads(kernel: Kernel, expiry: float) -> int:
    """Delete every expired upload; returns how many."""
    root = kernel.data_dir / "jmap" / "uploads"
    return await trio.to_thread.run_sync(_sweep, root, expiry, time.time())


# ---- resolution ----------------------------------------------------------------


async def _message_bytes(kernel: Kernel, account: int, digest: str) -> bytes | None:
    emails = await kernel.store.mailboxes.email_ids_by_blob(account, digest)
    if not emails:
        return None
    return await kernel.store.emails.raw(account, emails[0])


async def resolve_blob(
    kernel: Kernel,
    account: int,
    blob_id: str,
    *,
    upload_expiry: float | None = None,
    user: int | None = None,
) -> Blob | None:
    """The blob ``blob_id`` as ``user`` (default: the request's user) may read it in
    ``account`` (bytes and known type), or ``None``."""
    parsed = split_blob_id(blob_id)
    if parsed is None:
        return None
    digest, path = parsed
    if path is None:
        expiry = upload_expiry if upload_expiry is not None else _expiry(kernel)
        upload = await read_upload(kernel, account, blob_id, expiry, user=user)
        if upload is not None:
            return upload
        raw = await _message_bytes(kernel, account, digest)
        return Blob(raw, "message/rfc822") if raw is not None else None
    emails = await kernel.store.mailboxes.email_ids_by_blob(account, digest)
    if not emails:
        return None
    email = await kernel.store.emails.get(account, emails[0])
    raw = await kernel.store.emails.raw(account, emails[0])
    part = part_by_path(email.structure(), path)
    # A multipart has no body of its own; an attached message (message/rfc822) does,
    # even though it has children (its parsed root).
    if part is None or (part.is_multipart and part.message is None):
        return None
    return Blob(decode_body(raw, part), part.mime_type)


async def read_blob(
    kernel: Kernel, account: int, blob_id: str, *, user: int | None = None
) -> bytes | None:
    """The bytes of blob ``blob_id`` if it may be read in ``account``, else ``None``.

    Uploads are those of ``user`` (default: the user of the JMAP request running,
    see :data:`CURRENT_USER`; outside a request, the owner's). Never raises for a
    malformed or unknown id.
    """
    blob = await resolve_blob(kernel, account, blob_id, user=user)
    return blob.data if blob is not None else None


def _expiry(kernel: Kernel) -> float:
    return float(kernel.config.get("jmap.upload_expiry", 86400.0))
