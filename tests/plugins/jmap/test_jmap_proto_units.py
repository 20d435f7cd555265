"""Unit tests of the sans-IO parts: ids, states, request parsing (hostile input included),
result-reference pointers, PatchObjects, query windows, blob ids, limits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plugins.jmap.api import RequestError, evaluate_pointer, parse_json, parse_request
from plugins.jmap.blobs import blob_id_for_hash, part_blob_id, split_blob_id
from plugins.jmap.http import Limits
from plugins.jmap.ids import EMAIL, MAILBOX, decode_id, encode_id, is_valid_id
from plugins.jmap.methods import MethodError, collect_methods
from plugins.jmap.standard import QueryArgs, SetError, apply_patch, window
from plugins.jmap.state import parse_position, parse_state, position_string, state_string

CAPS = frozenset({"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"})


@pytest.mark.parametrize("number", [0, 1, 31, 32, 1023, 2**40, 2**63 - 1])
def test_jmap_ids_round_trip(number: int) -> None:
    value = encode_id(MAILBOX, number)
    assert is_valid_id(value) and not value.isdigit() and not value.startswith("-")
    assert decode_id(MAILBOX, value) == number
    assert decode_id(EMAIL, value) is None  # another type's id


@pytest.mark.parametrize(
    "value",
    ["", "M", "M01", "Mw", "M-1", "m1", "E1", "M1 ", "M" + "1" * 40, None, 5, ["M1"], "NIL"],
)
def test_jmap_ids_hostile_values_decode_to_none(value: Any) -> None:
    assert decode_id(MAILBOX, value) is None


def test_jmap_partial_positions() -> None:
    assert parse_position("s7") == (7, 0)
    assert parse_position(position_string(7, 3)) == (6, 3)
    assert position_string(7) == "s7"
    for bad in ("s0:1", "s7:0", "s7:", "s7:-1", "s:1", "s7:1:2", None):
        assert parse_position(bad) is None, bad
    assert parse_state("s7:3") is None  # never a /get or ifInState state


def test_jmap_state_strings() -> None:
    assert parse_state(state_string(0)) == 0
    assert parse_state(state_string(12345)) == 12345
    for bad in ("", "s", "s01", "s-1", "12", "sx", None, 3, "s" + "9" * 30):
        assert parse_state(bad) is None, bad


def _request(**body: Any) -> Any:
    return parse_request(body, capabilities=CAPS, max_calls=2)


def test_jmap_parse_request_errors() -> None:
    ok = _request(
        using=["urn:ietf:params:jmap:core"],
        methodCalls=[["Core/echo", {}, "a"]],
        createdIds={"k": "M1"},
    )
    assert ok.calls == (("Core/echo", {}, "a"),) and ok.created_ids == {"k": "M1"}
    cases: list[tuple[Any, str]] = [
        ([], "notRequest"),
        ({"using": "x", "methodCalls": []}, "notRequest"),
        ({"using": [1], "methodCalls": []}, "notRequest"),
        ({"using": [], "methodCalls": {}}, "notRequest"),
        ({"using": [], "methodCalls": [["a", {}, 1]]}, "notRequest"),
        ({"using": [], "methodCalls": [["a", {}, "1", "x"]]}, "notRequest"),
        ({"using": [], "methodCalls": [], "createdIds": {"a": 1}}, "notRequest"),
        ({"using": ["urn:nope"], "methodCalls": []}, "unknownCapability"),
        ({"using": [], "methodCalls": [["a", {}, "1"]] * 3}, "limit"),
    ]
    for body, kind in cases:
        with pytest.raises(RequestError) as caught:
            parse_request(body, capabilities=CAPS, max_calls=2)
        assert caught.value.type == kind, body
        problem = caught.value.to_json()
        assert problem["type"] == "urn:ietf:params:jmap:error:" + kind
        assert problem["status"] == 400


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"\xff\xfe",
        b'{"a": NaN}',
        b"[Infinity]",
        b'{"a": 1, "a": 2}',
        b"[" * 100000 + b"]" * 100000,
    ],
)
def test_jmap_parse_json_rejects_non_ijson(body: bytes) -> None:
    with pytest.raises(RequestError) as caught:
        parse_json(body)
    assert caught.value.type == "notJSON"


def test_jmap_result_reference_pointer() -> None:
    doc = {"list": [{"id": "a", "t": ["x", "y"]}, {"id": "b", "t": ["z"]}], "n": {"a/b": 1}}
    assert evaluate_pointer(doc, "/list/*/id") == ["a", "b"]
    assert evaluate_pointer(doc, "/list/*/t") == ["x", "y", "z"]  # arrays are flattened
    assert evaluate_pointer(doc, "/list/1/id") == "b"
    assert evaluate_pointer(doc, "/n/a~1b") == 1
    assert evaluate_pointer(doc, "") == doc
    for bad in ("list", "/list/2", "/list/01", "/list/x", "/nope", "/n/a~1b/c"):
        with pytest.raises(ValueError):
            evaluate_pointer(doc, bad)


def test_jmap_apply_patch() -> None:
    obj = {"name": "a", "keywords": {"$seen": True, "x": True}, "parentId": "M1"}
    patched = apply_patch(obj, {"name": "b", "keywords/$flagged": True, "keywords/x": None})
    assert patched == {"name": "b", "keywords": {"$seen": True, "$flagged": True}, "parentId": "M1"}
    assert obj["keywords"] == {"$seen": True, "x": True}  # the original is untouched
    assert apply_patch(obj, {"parentId": None})["parentId"] is None
    with pytest.raises(SetError) as caught:
        apply_patch(obj, {"keywords": {}, "keywords/a": True})
    assert caught.value.type == "invalidPatch"
    with pytest.raises(SetError):
        apply_patch(obj, {"missing/deeper": 1})


def _query(**overrides: Any) -> QueryArgs:
    base: dict[str, Any] = {
        "filter": None,
        "sort": [],
        "position": 0,
        "anchor": None,
        "anchor_offset": 0,
        "limit": None,
        "calculate_total": False,
    }
    base.update(overrides)
    return QueryArgs(**base)


def test_jmap_query_window() -> None:
    ids = ["a", "b", "c", "d", "e"]
    assert window(ids, _query()) == (ids, 0)
    assert window(ids, _query(position=1, limit=2)) == (["b", "c"], 1)
    assert window(ids, _query(position=-2)) == (["d", "e"], 3)
    assert window(ids, _query(position=-10, limit=1)) == (["a"], 0)
    assert window(ids, _query(position=10)) == ([], 5)
    assert window(ids, _query(anchor="c", anchor_offset=-1, limit=2)) == (["b", "c"], 1)
    assert window(ids, _query(anchor="a", anchor_offset=-3)) == (ids, 0)
    assert window(ids, _query(anchor="e", anchor_offset=4)) == ([], 5)
    assert window(ids, _query(limit=0)) == ([], 0)
    with pytest.raises(MethodError) as caught:
        window(ids, _query(anchor="z"))
    assert caught.value.type == "anchorNotFound"


def test_jmap_blob_ids() -> None:
    digest = "ab" * 32
    whole = blob_id_for_hash(digest)
    assert split_blob_id(whole) == (digest, None)
    part = part_blob_id(whole, "2.1.3")
    assert is_valid_id(part) and split_blob_id(part) == (digest, (2, 1, 3))
    for bad in ("", whole + "_", whole + "_0", whole + "_1.2", "G" + "AB" * 32, "x" * 300, None):
        assert split_blob_id(bad) is None, bad


def test_jmap_limits_count_per_user() -> None:
    limits = Limits()
    with limits.hold(1, 2) as a, limits.hold(1, 2) as b, limits.hold(1, 2) as c:
        assert (a, b, c) == (True, True, False)
        with limits.hold(2, 2) as other:
            assert other is True
    with limits.hold(1, 1) as again:
        assert again is True


def test_jmap_method_registry_and_errors() -> None:
    registry = collect_methods()
    assert {"Core/echo", "Blob/copy", "Mailbox/get", "Mailbox/set", "Thread/get"} <= set(
        registry.methods
    )
    with pytest.raises(MethodError) as caught:
        registry.lookup("Mailbox/get", frozenset({"urn:ietf:params:jmap:core"}))
    assert caught.value.type == "unknownMethod"
    with pytest.raises(MethodError):
        registry.lookup("Nope/nope", CAPS)
    error = MethodError("invalidProperties", "bad", properties=["name"])
    assert json.loads(json.dumps(error.to_json())) == {
        "type": "invalidProperties",
        "description": "bad",
        "properties": ["name"],
    }


class _NoTlsKernel:
    """Just enough kernel for the TLS rule: plaintext off, authenticate must not run."""

    config = {"auth": {"allow_plaintext_without_tls": False}}

    async def authenticate(self, credentials: Any) -> Any:
        raise AssertionError("credentials sent in clear must not be checked")


async def test_jmap_auth_refuses_clear_credentials_off_loopback() -> None:
    from plugins.jmap.auth import authenticate_header

    kernel: Any = _NoTlsKernel()
    for header in ("Basic YW5uOnB3", "Bearer abc"):
        outcome = await authenticate_header(kernel, header, remote="203.0.113.5", secure=False)
        assert outcome.user is None and outcome.status == 401
    missing = await authenticate_header(kernel, None, remote="127.0.0.1", secure=False)
    assert missing.status == 401


async def test_jmap_upload_sweep_removes_only_expired(tmp_path: Any) -> None:
    import os
    import time

    from plugins.jmap.blobs import store_upload, sweep_uploads

    class _Kernel:
        data_dir = tmp_path

    kernel: Any = _Kernel()
    old = await store_upload(kernel, 1, b"old", "text/plain")
    shared = await store_upload(kernel, 1, b"by another user", None, user=2)
    fresh = await store_upload(kernel, 1, b"fresh", None)
    root = tmp_path / "jmap" / "uploads" / "1"
    past = time.time() - 7200
    os.utime(root / old.blob_id, (past, past))
    os.utime(root / "u2" / shared.blob_id, (past, past))
    assert await sweep_uploads(kernel, 3600) == 2
    assert not (root / old.blob_id).exists() and not (root / (old.blob_id + ".type")).exists()
    assert not (root / "u2" / shared.blob_id).exists()
    assert (root / fresh.blob_id).read_bytes() == b"fresh"
