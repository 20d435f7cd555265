"""SieveScript/get, SieveScript/changes and SieveScript/set (RFC 9661 §2.3, §2.4).

SieveScript/set works like ManageSieve's PUTSCRIPT, RENAMESCRIPT, DELETESCRIPT
and SETACTIVE (RFC 5804) over the same store (:attr:`kernel.store.sieve`):

* create: ``blobId`` (required; an upload or any blob the account may read)
  and ``name`` (optional: the server picks ``script``, ``script-2``, ...);
  ``isActive`` is server-set (false, or absent).
* update: ``name`` (a rename: the script keeps its id and active flag) and/or
  ``blobId`` (new content).
* New content is compiled first: ``invalidSieve`` with the compiler's line and
  column (§2.4), ``tooLarge`` over ``maxSizeScript``, ``overQuota`` over
  ``maxNumberScripts``; a name already used is ``alreadyExists`` with
  ``existingId``; destroying the active script is ``sieveIsActive``.
* ``onSuccessDeactivateScript`` then ``onSuccessActivateScript`` (§2.4: in that
  order) run only when every create, update and destroy succeeded; the scripts
  whose flag changed are reported in ``created``/``updated`` with ``isActive``.
  An activation id that is malformed or unknown is ignored (§2.4 "MUST be ignored").
* The name check is part of the write transaction (the store's ``put`` with
  ``create_only``, and ``update`` that renames and replaces the content at once):
  of two clients creating one name at once, one gets ``alreadyExists`` (the
  check before compiling is only a fast path). A server-picked name that a
  concurrent create took meanwhile is picked again.
* SieveScript/changes (not in RFC 9661, which defines no /changes, but the
  standard RFC 8620 §5.2 method over the change log kind ``sieve``) is offered
  for clients that keep a cache.
"""

from __future__ import annotations

from typing import Any

from kernel.errors import DuplicateUid, NoSuchItem, PreconditionFailed, QuotaExceeded
from kernel.store import SieveScript
from plugins.jmap.blobs import read_blob
from plugins.jmap.capabilities import SIEVE
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.sieve.script_compile import ScriptInvalid, compile_for_store, script_limits
from plugins.jmap.sieve.script_view import (
    PROPERTIES,
    decode_script,
    encode_script,
    name_problem,
    publish_blob,
    script_object,
)
from plugins.jmap.standard import SetError, standard_changes, standard_get, standard_set

__all__ = ["sieve_script_changes", "sieve_script_get", "sieve_script_set"]

_CLIENT_SET = frozenset({"name", "blobId"})
#: How often a create with a server-picked name tries again when a concurrent
#: create took the name.
_NAME_ATTEMPTS = 5


async def load_scripts(
    call: Call, account: int, ids: list[int] | None = None
) -> dict[int, dict[str, Any]]:
    """The account's SieveScript objects by store id (``ids`` None: all)."""
    store = call.kernel.store.sieve
    out: dict[int, dict[str, Any]] = {}
    for script in await store.list(account):
        if ids is not None and script.id not in ids:
            continue
        try:
            found, source = await store.get_by_id(account, script.id)
        except NoSuchItem:
            continue  # destroyed meanwhile
        await publish_blob(call.kernel, account, source)
        out[found.id] = script_object(found, source)
    return out


@register("SieveScript/get", SIEVE)
async def sieve_script_get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /get (§2.3); ``ids`` null lists every script (LISTSCRIPTS)."""
    account = await call.account_id(args)

    async def load(ids: list[int] | None) -> dict[int, dict[str, Any]]:
        return await load_scripts(call, account, ids)

    return await standard_get(
        call, args, account=account, decode=decode_script, load=load, known=PROPERTIES
    )


@register("SieveScript/changes", SIEVE)
async def sieve_script_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /changes (RFC 8620 §5.2) over the change log kind ``sieve``."""
    account = await call.account_id(args)
    answer, _ = await standard_changes(
        call, args, account=account, kind="sieve", encode=encode_script
    )
    return answer


class _ScriptSet:
    """The create/update/destroy callbacks of one SieveScript/set call."""

    def __init__(self, call: Call, account: int) -> None:
        self.call = call
        self.account = account
        self.store = call.kernel.store.sieve
        self.max_size, self.max_scripts = script_limits(call.kernel)

    async def _by_name(self, name: str) -> SieveScript | None:
        return next((s for s in await self.store.list(self.account) if s.name == name), None)

    async def _by_id(self, jmap_id: str) -> SieveScript:
        number = decode_script(jmap_id)
        script = None
        if number is not None:
            script = next((s for s in await self.store.list(self.account) if s.id == number), None)
        if script is None:
            raise SetError("notFound", f"no SieveScript {jmap_id!r}")
        return script

    async def _content(self, blob_id: Any, name: str) -> tuple[bytes, bytes]:
        """The blob's octets and their compiled form; SetErrors as §2.4 says."""
        if not isinstance(blob_id, str):
            raise SetError("invalidProperties", "blobId must be an id", properties=["blobId"])
        source = await read_blob(self.call.kernel, self.account, blob_id)
        if source is None:
            raise SetError("blobNotFound", f"no blob {blob_id!r}", notFound=[blob_id])
        if len(source) > self.max_size:
            raise SetError("tooLarge", f"scripts are limited to {self.max_size} octets")
        try:
            compiled = await compile_for_store(self.call.kernel, source, name)
        except ScriptInvalid as error:
            raise SetError("invalidSieve", str(error)) from None
        return source, compiled

    async def _check_name(self, name: Any, own_id: int | None = None) -> str:
        problem = name_problem(name)
        if problem is not None:
            raise SetError("invalidProperties", problem, properties=["name"])
        existing = await self._by_name(name)
        if existing is not None and existing.id != own_id:
            raise SetError(
                "alreadyExists",
                f"a script named {name!r} exists",
                existingId=encode_script(existing.id),
            )
        return str(name)

    async def _default_name(self, creation_id: str) -> str:
        taken = {s.name for s in await self.store.list(self.account)}
        base = "script"
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    async def _exists(self, name: str) -> SetError:
        """The §2.4 ``alreadyExists`` error for ``name`` (the store refused it)."""
        existing = await self._by_name(name)
        return SetError(
            "alreadyExists",
            f"a script named {name!r} exists",
            existingId=encode_script(existing.id) if existing else None,
        )

    async def _create(self, name: str, source: bytes, compiled: bytes) -> SieveScript:
        """Store a new script; DuplicateUid when the name is taken (checked in the write)."""
        try:
            script = await self.store.put(
                self.account,
                name,
                source,
                compiled,
                max_scripts=self.max_scripts,
                max_size=self.max_size,
                create_only=True,
            )
        except QuotaExceeded as error:
            raise SetError("overQuota", str(error)) from None
        await publish_blob(self.call.kernel, self.account, source)
        return script

    async def create(self, creation_id: str, obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        bad = [p for p in obj if p not in _CLIENT_SET and not (p == "isActive" and not obj[p])]
        if "blobId" not in obj:
            bad.append("blobId")
        if bad:
            raise SetError("invalidProperties", "invalid properties", properties=sorted(bad))
        name = obj.get("name")
        picked = name is None
        if name is None:
            name = await self._default_name(creation_id)
        name = await self._check_name(name)
        source, compiled = await self._content(obj["blobId"], name)
        attempts = _NAME_ATTEMPTS if picked else 1
        while True:
            try:
                script = await self._create(name, source, compiled)
                break
            except DuplicateUid:
                attempts -= 1
                if attempts <= 0:
                    raise await self._exists(name) from None
                name = await self._default_name(creation_id)
        server_set: dict[str, Any] = {"isActive": script.is_active}
        if obj.get("name") is None:
            server_set["name"] = script.name
        return encode_script(script.id), server_set

    async def update(self, jmap_id: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        script = await self._by_id(jmap_id)
        bad = [
            p
            for p in patch
            if p not in _CLIENT_SET
            and not (p == "isActive" and patch[p] == script.is_active)
            and not (p == "id" and patch[p] == jmap_id)
        ]
        if bad:
            raise SetError("invalidProperties", "cannot change these", properties=sorted(bad))
        name = script.name
        if "name" in patch:
            name = await self._check_name(patch["name"], script.id)
        content = await self._content(patch["blobId"], name) if "blobId" in patch else None
        if name == script.name and content is None:
            return None
        try:
            # One transaction: the rename's uniqueness check and the new content.
            await self.store.update(
                self.account,
                script.id,
                name=name,
                content=content,
                max_size=self.max_size,
            )
        except DuplicateUid:
            raise await self._exists(name) from None
        except NoSuchItem:
            raise SetError("notFound", f"no SieveScript {jmap_id!r}") from None
        except QuotaExceeded as error:
            raise SetError("tooLarge", str(error)) from None
        if content is not None:
            await publish_blob(self.call.kernel, self.account, content[0])
        return None

    async def destroy(self, jmap_id: str) -> None:
        script = await self._by_id(jmap_id)
        if script.is_active:
            # RFC 9661 §2.4: deactivate it first, in a separate call.
            raise SetError("sieveIsActive", "the script is active")
        try:
            await self.store.delete(self.account, script.name)
        except NoSuchItem:
            raise SetError("notFound", f"no SieveScript {jmap_id!r}") from None
        except PreconditionFailed:
            raise SetError("sieveIsActive", "the script is active") from None


def _activation_args(call: Call, args: dict[str, Any]) -> tuple[str | None, bool]:
    activate = args.get("onSuccessActivateScript")
    if activate is not None and not isinstance(activate, str):
        raise MethodError("invalidArguments", "'onSuccessActivateScript' must be an id")
    deactivate = args.get("onSuccessDeactivateScript")
    if deactivate is not None and not isinstance(deactivate, bool):
        raise MethodError("invalidArguments", "'onSuccessDeactivateScript' must be a boolean")
    return activate, bool(deactivate)


async def _switch_active(
    call: Call, account: int, answer: dict[str, Any], activate: str | None, deactivate: bool
) -> None:
    """§2.4: deactivate, then activate, reporting flag changes in created/updated."""
    store = call.kernel.store.sieve
    before = {s.id: s for s in await store.list(account)}
    was_active = next((s for s in before.values() if s.is_active), None)
    target = None
    if activate is not None:
        number = decode_script(call.resolve_creation_id(activate))
        target = before.get(number) if number is not None else None
    if deactivate and was_active is not None and (target is None or target.id != was_active.id):
        await store.set_active(account, None)
    if target is not None:
        await store.set_active(account, target.name)
    after = {s.id: s.is_active for s in await store.list(account)}
    created = {v["id"]: v for v in (answer.get("created") or {}).values()}
    updated = dict(answer.get("updated") or {})
    for number, script in before.items():
        flag = after.get(number)
        changed = flag is not None and flag != script.is_active
        if not changed and not (target is not None and number == target.id):
            continue
        jmap_id = encode_script(number)
        if jmap_id in created:
            created[jmap_id]["isActive"] = flag
        else:
            entry = updated.get(jmap_id) or {}
            updated[jmap_id] = {**entry, "isActive": flag}
    answer["updated"] = updated or None


@register("SieveScript/set", SIEVE)
async def sieve_script_set(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /set (§2.4) with ``onSuccessActivateScript``/``onSuccessDeactivateScript``."""
    account = await call.account_id(args)
    activate, deactivate = _activation_args(call, args)
    handlers = _ScriptSet(call, account)
    answer = await standard_set(
        call,
        args,
        account=account,
        create=handlers.create,
        update=handlers.update,
        destroy=handlers.destroy,
        extra_args=("onSuccessActivateScript", "onSuccessDeactivateScript"),
    )
    failed = answer["notCreated"] or answer["notUpdated"] or answer["notDestroyed"]
    if not failed and (activate is not None or deactivate):
        await call.require_writable(account)
        await _switch_active(call, account, answer, activate, deactivate)
        answer["newState"] = await call.state(account)
    return answer
