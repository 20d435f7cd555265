"""Blob/copy (RFC 8620 §6.3): make blobs of one account readable in another.

A copied blob becomes an upload of the target account (same content, same
blob id: ids are content addresses), so it expires like one unless used.
"""

from __future__ import annotations

from typing import Any

from plugins.jmap.blobs import resolve_blob, split_blob_id, store_upload
from plugins.jmap.capabilities import CORE
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import SetError, check_keys

__all__ = ["blob_copy"]


@register("Blob/copy", CORE)
async def blob_copy(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Copy ``blobIds`` from ``fromAccountId`` to ``accountId``."""
    check_keys(args, {"fromAccountId", "accountId", "blobIds"})
    try:
        source = await call.account_id(args, "fromAccountId")
    except MethodError as error:
        if error.type == "accountNotFound":
            raise MethodError("fromAccountNotFound", error.description) from None
        raise
    target = await call.account_id(args)
    if source == target:
        # RFC 8620 §5.4 (/copy): the accounts MUST differ; Blob/copy copies *between* them.
        raise MethodError("invalidArguments", "fromAccountId and accountId are the same")
    blob_ids = args.get("blobIds")
    if not isinstance(blob_ids, list) or not all(isinstance(b, str) for b in blob_ids):
        raise MethodError("invalidArguments", "'blobIds' must be a list of ids")
    await call.require_writable(target)
    copied: dict[str, str] = {}
    not_copied: dict[str, Any] = {}
    for blob_id in dict.fromkeys(blob_ids):
        blob = None
        if split_blob_id(blob_id) is not None:
            blob = await resolve_blob(
                call.kernel, source, blob_id, upload_expiry=call.settings.upload_expiry
            )
        if blob is None:
            not_copied[blob_id] = SetError("notFound", "no such blob").to_json()
            continue
        stored = await store_upload(call.kernel, target, blob.data, blob.type)
        copied[blob_id] = stored.blob_id
    return {
        "fromAccountId": args["fromAccountId"],
        "accountId": args["accountId"],
        "copied": copied or None,
        "notCopied": not_copied or None,
    }
