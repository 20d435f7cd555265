"""Tests for kernel.config.schema: option records, units, JSON Schema, validate and resolve."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.config import KERNEL_SECTIONS, REQUIRED, Location, Option, Section, full_schema
from kernel.config.schema import (
    build_json_schema,
    parse_duration,
    parse_size,
    resolve,
    validate,
)

SECTION = Section(
    "demo",
    "A demo section.",
    (
        Option("name", "string", REQUIRED, "The name."),
        Option("count", "integer", 3, "How many.", schema={"minimum": 1}),
        Option("mode", "string", "fast", "Mode.", choices=("fast", "slow")),
        Option("timeout", "duration", "2m", "Timeout."),
        Option("max_size", "size", "1MB", "Largest."),
        Option("optional", "duration", None, "Unset by default."),
        Option("limits.idle", "duration", "30s", "Idle time."),
        Option("limits.bytes", "size", 512, "Bytes."),
        Option("limits.deep.flag", "boolean", False, "A deep flag."),
        Option("tags", "string-list", [], "Tags."),
        Option("labels", "string-map", {}, "Labels."),
    ),
)
ENTRIES = Section(
    "things",
    "Things by name.",
    (
        Option("bind", "string", REQUIRED, "Where."),
        Option("limits.idle", "duration", "5s", "Idle."),
    ),
    entries=True,
)


def schema_for(*sections: Section) -> dict:
    return build_json_schema(sections)


def messages(data: dict, *sections: Section) -> list[str]:
    return [str(d) for d in validate(data, schema_for(*sections), lambda path: None)]


# ---- units -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (30, 30.0),
        (1.5, 1.5),
        ("30", 30.0),
        ("500ms", 0.5),
        ("500MS", 0.5),
        ("30s", 30.0),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("7d", 604800.0),
        ("1.5s", 1.5),
        (" 2 m ", 120.0),
        ("0s", 0.0),
    ],
)
def test_parse_duration_units(text: float | str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)
    assert isinstance(parse_duration(text), float)


@pytest.mark.parametrize("text", ["", "s", "10x", "10 sec", "-5s", "1e3", "ten", "5mss", True])
def test_parse_duration_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (0, 0),
        (1234, 1234),
        ("1234", 1234),
        ("10b", 10),
        ("10B", 10),
        ("512KB", 512 * 1024),
        ("512k", 512 * 1024),
        ("512KiB", 512 * 1024),
        ("50MB", 50 * 2**20),
        ("50 mib", 50 * 2**20),
        ("2GB", 2 * 2**30),
        ("1TB", 2**40),
        ("1.5KB", 1536),
    ],
)
def test_parse_size_units(text: int | str, size: int) -> None:
    assert parse_size(text) == size
    assert isinstance(parse_size(text), int)


@pytest.mark.parametrize("text", ["", "MB", "10 XB", "-1", "10 bytes", "1e6", "lots", True])
def test_parse_size_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


@given(st.integers(min_value=0, max_value=10**9))
def test_parse_duration_seconds_property(n: int) -> None:
    assert parse_duration(f"{n}s") == n
    assert parse_duration(n) == n
    assert parse_duration(f"{n}ms") == pytest.approx(n / 1000)
    assert parse_duration(f"{n}m") == n * 60
    assert parse_duration(f"{n}h") == n * 3600
    assert parse_duration(f"{n}d") == n * 86400


@given(st.integers(min_value=0, max_value=10**6))
def test_parse_size_units_property(n: int) -> None:
    assert parse_size(str(n)) == n
    assert parse_size(f"{n}B") == n
    assert parse_size(f"{n}KB") == n * 1024
    assert parse_size(f"{n}MiB") == n * 2**20
    assert parse_size(f"{n}G") == n * 2**30


@given(st.text(alphabet="0123456789.smhdMSHDkKbBgGtTiI -x", max_size=8))
def test_schema_unit_patterns_agree_with_parsers(text: str) -> None:
    # What the JSON Schema pattern (used by editors) accepts, the parser accepts too.
    duration = full_schema(KERNEL_SECTIONS)["properties"]["server"]["properties"]
    pattern = duration["shutdown_timeout"]["anyOf"][1]["pattern"]
    if re.search(pattern, text):
        parse_duration(text)
    else:
        with pytest.raises(ValueError):
            parse_duration(text)
    size_pattern = Option("s", "size", 0, "").json_schema()["anyOf"][1]["pattern"]
    if re.search(size_pattern, text):
        parse_size(text)
    else:
        with pytest.raises(ValueError):
            parse_size(text)


# ---- JSON Schema -------------------------------------------------------------


def test_option_json_schema_carries_help_default_and_choices() -> None:
    out = Option("mode", "string", "fast", "Mode.", choices=("fast", "slow")).json_schema()
    assert out == {
        "type": "string",
        "enum": ["fast", "slow"],
        "description": "Mode.",
        "default": "fast",
    }


def test_option_json_schema_omits_required_and_none_defaults() -> None:
    assert "default" not in Option("a", "string", REQUIRED, "A.").json_schema()
    assert "default" not in Option("a", "string", None, "A.").json_schema()
    assert repr(REQUIRED) == "REQUIRED"


def test_option_json_schema_merges_extra_schema() -> None:
    out = Option("n", "integer", 1, "N.", schema={"minimum": 1}).json_schema()
    assert out["type"] == "integer"
    assert out["minimum"] == 1


def test_option_json_type_uses_given_schema() -> None:
    out = Option("j", "json", {}, "J.", schema={"type": "object"}).json_schema()
    assert out == {"type": "object", "description": "J.", "default": {}}


def test_option_unit_types_accept_numbers_or_strings() -> None:
    duration = Option("d", "duration", "1s", "D.").json_schema()
    size = Option("s", "size", 1, "S.").json_schema()
    assert duration["x-unit"] == "duration"
    assert size["x-unit"] == "size"
    assert [s["type"] for s in duration["anyOf"]] == ["number", "string"]
    assert [s["type"] for s in size["anyOf"]] == ["integer", "string"]


def test_option_json_schema_does_not_share_base_types() -> None:
    Option("a", "string", "x", "First.", choices=("x",)).json_schema()
    assert "enum" not in Option("b", "string", "y", "Second.").json_schema()


def test_section_schema_nests_dotted_keys() -> None:
    schema = SECTION.json_schema()
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["description"] == "A demo section."
    limits = schema["properties"]["limits"]
    assert limits["type"] == "object"
    assert limits["additionalProperties"] is False
    assert set(limits["properties"]) == {"idle", "bytes", "deep"}
    assert limits["properties"]["deep"]["properties"]["flag"]["type"] == "boolean"


def test_section_schema_lists_required_options() -> None:
    assert SECTION.json_schema()["required"] == ["name"]
    nested = Section("n", "N.", (Option("a.b", "string", REQUIRED, "B."),)).json_schema()
    assert nested["properties"]["a"]["required"] == ["b"]
    assert "required" not in nested


def test_section_schema_for_entries() -> None:
    schema = ENTRIES.json_schema()
    assert schema["type"] == "object"
    assert schema["description"] == "Things by name."
    entry = schema["additionalProperties"]
    assert entry["required"] == ["bind"]
    assert entry["additionalProperties"] is False
    assert set(entry["properties"]) == {"bind", "limits"}


def test_build_json_schema_is_valid_2020_12() -> None:
    schema = build_json_schema([SECTION, ENTRIES, *KERNEL_SECTIONS])
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert list(schema["properties"])[:2] == ["demo", "things"]
    jsonschema.Draft202012Validator.check_schema(schema)
    json.dumps(schema)  # serialisable for `config schema`


def test_full_schema_adds_plugins_list_first() -> None:
    schema = full_schema(KERNEL_SECTIONS)
    assert next(iter(schema["properties"])) == "plugins"
    assert schema["properties"]["plugins"]["type"] == "array"
    jsonschema.Draft202012Validator.check_schema(schema)


# ---- validate ----------------------------------------------------------------


def test_validate_accepts_valid_data() -> None:
    data = {
        "demo": {
            "name": "x",
            "count": 2,
            "timeout": "1h",
            "max_size": "2MB",
            "limits": {"idle": 5, "deep": {"flag": True}},
            "tags": ["a"],
            "labels": {"k": "v"},
        },
        "things": {"one": {"bind": "a"}, "two": {"bind": "b", "limits": {"idle": "1m"}}},
    }
    assert messages(data, SECTION, ENTRIES) == []


def test_validate_unknown_key_reported_at_its_own_line() -> None:
    locations = {
        ("demo",): Location("a.yaml", 1),
        ("demo", "name"): Location("a.yaml", 2),
        ("demo", "nmae"): Location("b.yaml", 7),
        ("demo", "limits"): Location("a.yaml", 3),
        ("demo", "limits", "idel"): Location("b.yaml", 9),
    }
    data = {"demo": {"name": "x", "nmae": "y", "limits": {"idel": 1}}}
    found = validate(data, schema_for(SECTION), locations.get)
    assert sorted(str(d) for d in found) == [
        "b.yaml:7: demo.nmae: unknown key",
        "b.yaml:9: demo.limits.idel: unknown key",
    ]
    assert all(d.is_error for d in found)


def test_validate_unknown_top_level_section() -> None:
    assert messages({"demo": {"name": "x"}, "imap": {}}, SECTION) == ["<config>: imap: unknown key"]


def test_validate_reports_each_unknown_key() -> None:
    assert messages({"demo": {"name": "x", "a": 1, "b": 2}}, SECTION) == [
        "<config>: demo.a: unknown key",
        "<config>: demo.b: unknown key",
    ]


def test_validate_wrong_type_message() -> None:
    assert messages({"demo": {"name": "x", "count": "three"}}, SECTION) == [
        "<config>: demo.count: expected integer, got str"
    ]
    assert messages({"demo": {"name": 5}}, SECTION) == [
        "<config>: demo.name: expected string, got int"
    ]
    assert messages({"demo": {"name": "x", "limits": 3}}, SECTION) == [
        "<config>: demo.limits: expected object, got int"
    ]


def test_validate_boolean_is_not_an_integer() -> None:
    assert messages({"demo": {"name": "x", "count": True}}, SECTION) == [
        "<config>: demo.count: expected integer, got bool"
    ]


def test_validate_enum_message() -> None:
    assert messages({"demo": {"name": "x", "mode": "medium"}}, SECTION) == [
        "<config>: demo.mode: 'medium' is not one of 'fast', 'slow'"
    ]


def test_validate_bad_duration_and_size_messages() -> None:
    data = {"demo": {"name": "x", "timeout": "soon", "max_size": "huge", "limits": {"idle": -1}}}
    assert messages(data, SECTION) == [
        "<config>: demo.limits.idle: -1 is not a valid duration",
        "<config>: demo.max_size: 'huge' is not a valid size",
        "<config>: demo.timeout: 'soon' is not a valid duration",
    ]


def test_validate_missing_required_option() -> None:
    [message] = messages({"demo": {}}, SECTION)
    assert message == "<config>: demo: 'name' is a required property"


def test_validate_minimum_from_extra_schema() -> None:
    [message] = messages({"demo": {"name": "x", "count": 0}}, SECTION)
    assert message.startswith("<config>: demo.count: 0 is less than the minimum of 1")


def test_validate_entries_require_their_options() -> None:
    assert messages({"things": {"one": {}, "two": {"bind": "b", "port": 1}}}, ENTRIES) == [
        "<config>: things.one: 'bind' is a required property",
        "<config>: things.two.port: unknown key",
    ]


def test_validate_list_item_path() -> None:
    assert messages({"demo": {"name": "x", "tags": ["a", 2]}}, SECTION) == [
        "<config>: demo.tags[1]: expected string, got int"
    ]


def test_validate_reports_all_problems() -> None:
    data = {"demo": {"count": "x", "mode": "no", "extra": 1}, "other": 1}
    assert len(messages(data, SECTION)) == 5


# ---- resolve -----------------------------------------------------------------


def test_resolve_fills_defaults_and_converts_units() -> None:
    assert resolve(SECTION, {"name": "x"}) == {
        "name": "x",
        "count": 3,
        "mode": "fast",
        "timeout": 120.0,
        "max_size": 2**20,
        "optional": None,
        "limits": {"idle": 30.0, "bytes": 512, "deep": {"flag": False}},
        "tags": [],
        "labels": {},
    }


def test_resolve_converts_given_values() -> None:
    out = resolve(
        SECTION,
        {
            "name": "x",
            "timeout": 5,
            "max_size": "2KB",
            "optional": "250ms",
            "limits": {"idle": "1m"},
        },
    )
    assert out["timeout"] == 5.0
    assert out["max_size"] == 2048
    assert out["optional"] == 0.25
    assert out["limits"]["idle"] == 60.0
    assert out["limits"]["bytes"] == 512


def test_resolve_none_stays_none() -> None:
    out = resolve(SECTION, {"name": "x"})
    assert out["optional"] is None
    assert resolve(SECTION, None)["name"] is None  # REQUIRED unset (validation reports it)


def test_resolve_entries_section() -> None:
    out = resolve(ENTRIES, {"a": {"bind": "x"}, "b": {"bind": "y", "limits": {"idle": "2s"}}})
    assert out == {
        "a": {"bind": "x", "limits": {"idle": 5.0}},
        "b": {"bind": "y", "limits": {"idle": 2.0}},
    }
    assert resolve(ENTRIES, None) == {}


def test_resolve_does_not_share_default_objects() -> None:
    first = resolve(SECTION, {"name": "x"})
    first["tags"].append("mutated")
    first["labels"]["k"] = "v"
    second = resolve(SECTION, {"name": "x"})
    assert second["tags"] == []
    assert second["labels"] == {}


def test_resolve_does_not_share_given_objects() -> None:
    given_value = {"name": "x", "tags": ["a"]}
    resolve(SECTION, given_value)["tags"].append("b")
    assert given_value["tags"] == ["a"]
