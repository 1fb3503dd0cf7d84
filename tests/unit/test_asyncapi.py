"""docs/asyncapi.json is the event catalogue as AsyncAPI 3.0.0: generated from the catalogue,
valid against the official schema (vendored in tests/schemas/, no network), every event type on
exactly one channel and every topic a service publishes on a channel."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from kuaiche.services import SERVICES
from shared.events.asyncapi import asyncapi_document, render
from shared.events.catalogue import EVENT_TYPES
from shared.events.topics import DOMAIN_TOPICS, NOTIFICATIONS

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "asyncapi.json"
SCHEMA = ROOT / "tests" / "schemas" / "asyncapi-3.0.0.json"
REGENERATE = "python -m shared.events.asyncapi > docs/asyncapi.json"


def _no_network(uri: str) -> Any:
    raise AssertionError(f"the AsyncAPI schema must be self-contained, it refers to {uri}")


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema_rs.Draft7Validator(schema, retriever=_no_network)


def _errors(validator: Any, document: dict[str, Any]) -> list[str]:
    return [f"{list(e.instance_path)}: {e.message[:300]}" for e in validator.iter_errors(document)]


def test_the_committed_document_is_what_the_catalogue_generates() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), (
        f"docs/asyncapi.json is stale: regenerate it with `{REGENERATE}` and commit it"
    )


def test_the_generator_is_deterministic() -> None:
    assert render() == render()
    assert asyncapi_document() == json.loads(render())


def test_the_document_validates_against_the_asyncapi_3_schema(validator: Any) -> None:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    assert _errors(validator, document) == []


@pytest.mark.parametrize(
    ("what", "spoil"),
    [
        (
            "a channel address that is not a string",
            lambda d: d["channels"]["registry"].update(address=42),
        ),
        (
            "an AsyncAPI 2 operation action",
            lambda d: d["operations"]["receive_registry_events"].update(action="subscribe"),
        ),
        (
            "an operation without its channel",
            lambda d: d["operations"]["receive_registry_events"].pop("channel"),
        ),
        ("an unknown top-level field", lambda d: d.update(topics=[])),
        ("a server without its protocol", lambda d: d["servers"]["kafka"].pop("protocol")),
        (
            "a Kafka binding of an unknown version",
            lambda d: d["components"]["messages"]["kuaiche.project.registered.v1"]["bindings"][
                "kafka"
            ].update(bindingVersion="9.9.9"),
        ),
        (
            "a payload schema of the wrong shape",
            lambda d: d["components"]["schemas"]["PlanSet"].update(required="project_id"),
        ),
    ],
)
def test_the_validation_rejects_a_broken_document(validator: Any, what: str, spoil: Any) -> None:
    document = copy.deepcopy(asyncapi_document())
    spoil(document)
    assert _errors(validator, document), f"{what} passed the AsyncAPI schema"


def test_every_event_type_is_on_exactly_one_channel() -> None:
    document = asyncapi_document()
    seen: dict[str, list[str]] = {}
    for channel_id, channel in document["channels"].items():
        for name in channel["messages"]:
            seen.setdefault(name, []).append(channel_id)
    assert {name: ids for name, ids in seen.items() if len(ids) != 1} == {}
    assert set(seen) == set(EVENT_TYPES)
    assert set(document["components"]["messages"]) == set(EVENT_TYPES)
    for name, message in document["components"]["messages"].items():
        assert message["name"] == name
        assert message["contentType"] == "application/cloudevents+json"
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        assert message["payload"]["allOf"][1]["properties"]["type"] == {"const": name}


def test_every_topic_a_service_publishes_has_a_channel_with_one_receive_operation() -> None:
    document = asyncapi_document()
    addresses = {channel["address"]: cid for cid, channel in document["channels"].items()}
    # notifications owns kuaiche.notifications but publishes nothing on it yet
    published = {definition.topic for definition in SERVICES.values()} - {NOTIFICATIONS}
    assert published <= set(addresses), "a service publishes on a topic without a channel"
    assert set(addresses) <= set(DOMAIN_TOPICS)
    operations = document["operations"].values()
    for address, channel_id in addresses.items():
        ours = [op for op in operations if op["channel"] == {"$ref": f"#/channels/{channel_id}"}]
        assert [op["action"] for op in ours] == ["receive"], address
        assert {ref["$ref"].rsplit("/", 1)[-1] for ref in ours[0]["messages"]} == set(
            document["channels"][channel_id]["messages"]
        )


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node))
    return set()


def test_every_reference_resolves_inside_the_document() -> None:
    """The schema cannot check this: a `$ref` that points nowhere."""
    document = asyncapi_document()
    for ref in sorted(_refs(document)):
        assert ref.startswith("#/"), ref
        node: Any = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict) and part in node, f"{ref} resolves to nothing"
            node = node[part]
