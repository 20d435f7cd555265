"""SieveScript objects (RFC 9661 §2.1) and the checks their names and content get.

* ``id``: ``Z`` + the store's script id; ``blobId``: the content address of the
  script's octets (``G`` + SHA-256, like an upload of the same octets, RFC 9661
  §2.2). So that the blobId can be downloaded after the upload it came from has
  expired, :func:`publish_blob` keeps the script's octets as an upload of the
  account whenever a script is stored or read and the upload is missing.
* ``name``: RFC 9661 §2.1: 1 character or more, at most ``maxSizeScriptName``
  octets, none of U+0000-U+001F, U+007F-U+009F, U+2028, U+2029 (RFC 5804 §1.6).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Final

from plugins.jmap.blobs import blob_id_for_hash, read_upload, store_upload
from plugins.jmap.ids import SIEVE, decode_id, encode_id
from plugins.jmap.sieve.script_compile import MAX_NAME_OCTETS

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.store import SieveScript

__all__ = [
    "PROPERTIES",
    "blob_id_of",
    "decode_script",
    "encode_script",
    "name_problem",
    "publish_blob",
    "script_object",
]

PROPERTIES: Final = ("id", "name", "blobId", "isActive")
_SCRIPT_TYPE: Final = "application/sieve"


def encode_script(script: int) -> str:
    """The JMAP id of store script ``script``."""
    return encode_id(SIEVE, script)


def decode_script(value: object) -> int | None:
    """The store id behind a SieveScript id, or None."""
    return decode_id(SIEVE, value)


def blob_id_of(source: bytes) -> str:
    """The blobId of a script's octets."""
    return blob_id_for_hash(hashlib.sha256(source).hexdigest())


def script_object(script: SieveScript, source: bytes) -> dict[str, Any]:
    """The SieveScript object."""
    return {
        "id": encode_script(script.id),
        "name": script.name,
        "blobId": blob_id_of(source),
        "isActive": script.is_active,
    }


def name_problem(name: object) -> str | None:
    """Why ``name`` is not an acceptable script name, or None (RFC 9661 §2.1)."""
    if not isinstance(name, str) or not name:
        return "the name must be a non-empty string"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_OCTETS:
        return f"the name is longer than {MAX_NAME_OCTETS} octets"
    for char in name:
        code = ord(char)
        if code <= 0x1F or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029):
            return f"the name contains the forbidden character U+{code:04X}"
        if 0xD800 <= code <= 0xDFFF:
            return "the name is not valid Unicode"
    return None


async def publish_blob(kernel: Kernel, account: int, source: bytes) -> None:
    """Make the script's blobId downloadable in ``account`` (see the module notes)."""
    blob_id = blob_id_of(source)
    expiry = float(kernel.config.get("jmap.upload_expiry", 86400.0))
    # Refresh well before expiry, so a blobId just listed stays readable a while.
    if await read_upload(kernel, account, blob_id, expiry / 2, user=account) is None:
        await store_upload(kernel, account, source, _SCRIPT_TYPE, user=account)
