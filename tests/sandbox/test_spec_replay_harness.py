"""The example-replay harness must be able to fail: its comparison catches what a sandbox could get wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sandbox.spec_replay import Refs, build_request, compare_keys, load_examples, specs_root


def _schema(tmp_path: Path, schema: dict) -> tuple[dict, Path]:
    doc = tmp_path / "api.json"
    doc.write_text(json.dumps({"definitions": {"Thing": schema}}), encoding="utf-8")
    return {"$ref": "#/definitions/Thing"}, doc


THING = {
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "properties": {"properties": {"TTL": {"type": "integer"}, "fqdn": {"type": "string"}}},
    }
}


def test_missing_keys_wrong_kinds_and_unknown_keys_are_reported(tmp_path: Path) -> None:
    schema = _schema(tmp_path, THING)
    expected = {"id": "x", "properties": {"TTL": 1, "fqdn": "a"}, "nextLink": "n"}
    ok = {"id": "y", "properties": {"TTL": 2, "fqdn": "b"}, "tags": {"any": "key"}}
    assert compare_keys(expected, ok, schema, Refs(), "body") == []  # values differ; nextLink optional
    bad = {"id": ["y"], "properties": {"TTL": 2, "extra": 1}, "bogus": True}
    assert compare_keys(expected, bad, schema, Refs(), "body") == [
        'body.id: expected scalar, got array (["y"])',
        "body.properties.fqdn: missing",
        "body.properties.extra: not in the example nor in the response schema",
        "body.bogus: not in the example nor in the response schema",
    ]


def test_list_items_are_matched_by_name_and_unshown_items_held_to_the_schema(tmp_path: Path) -> None:
    item = {"type": "array", "items": {"$ref": "#/definitions/Thing"}}
    schema = _schema(tmp_path, {"properties": {"value": item}})
    schema[1].write_text(
        json.dumps({"definitions": {"Thing": THING, "List": {"properties": {"value": item}}}})
    )
    listed = ({"$ref": "#/definitions/List"}, schema[1])
    expected = {"value": [{"id": "1", "name": "a", "properties": {"TTL": 1}}]}
    actual = {
        "value": [
            {"id": "2", "name": "@", "properties": {"fqdn": "z"}},
            {"id": "1", "name": "a", "properties": {}},
        ]
    }
    assert compare_keys(expected, actual, listed, Refs(), "body") == ["body.value[1].properties.TTL: missing"]


def test_requests_are_built_from_the_template_and_the_example() -> None:
    root = specs_root(Path(__file__))
    if root is None:
        pytest.skip("no shared reference folder next to the repository")
    (example,) = [e for e in load_examples(root) if e.path.name == "PatchTXTRecordset.json"]
    request = build_request(example.operation, example.data["parameters"])
    assert request.method == "PATCH"
    assert (
        request.path
        == "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/dnsZones/zone1/TXT/record1"
    )
    assert request.query == {"api-version": "2018-05-01"}
    assert request.body == example.data["parameters"]["parameters"]
