"""The AsyncAPI 3.0.0 document of kuaiche's events, generated from the event catalogue.

One channel per domain topic that has a producer (its address is the topic name), one `receive`
operation per channel (what a subscriber does), one message per event type. A message's payload
is the CloudEvent envelope (structured JSON) whose `data` is the payload model's JSON schema, as
serialised on the wire. Regenerate the committed file with

    python -m shared.events.asyncapi > docs/asyncapi.json

(`tests/unit/test_asyncapi.py` fails when it drifts from the catalogue).
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from shared.events import topics
from shared.events.catalogue import factors, issues, registry, scoring
from shared.events.envelope import CONTENT_TYPE, CloudEvent

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
SCHEMA_REF = "#/components/schemas/{model}"
ENVELOPE_SCHEMA = "CloudEvent"

# The catalogue module of each topic's producer (`shared/events/catalogue/<producer>.py`).
PRODUCERS: dict[str, ModuleType] = {
    topics.REGISTRY: registry,
    topics.FACTORS: factors,
    topics.ISSUES: issues,
    topics.SCORING: scoring,
}

# The Kafka key (the envelope's `partitionkey`) is the project id, except for these events
# (docs/events.md); an event whose payload has no `project_id` must be listed here.
_KEY_PROJECT = "the project id (`partitionkey`), so one project's events stay in order"
_KEYS: dict[str, str] = {
    "kuaiche.quota.issued.v1": "the pool id (`partitionkey`): a pool's own events",
    "kuaiche.replacement_source.registered.v1": (
        "the replacement source's id (`partitionkey`): a source's own events"
    ),
    "kuaiche.ranking.published.v1": "the period, e.g. `2020-04` (`partitionkey`): a publication",
    "kuaiche.calendar.schedule_set.v1": (
        "`calendar-<year>` (`partitionkey`): one year's uploads stay in order"
    ),
}


def _package_version() -> str:
    try:
        return version("kuaiche")
    except PackageNotFoundError:  # pragma: no cover - the project is always installed
        return "0.0.0"


def _key_description(event_type: str, model: type[BaseModel]) -> str:
    if event_type in _KEYS:
        return _KEYS[event_type]
    if "project_id" not in model.model_fields:
        raise ValueError(f"{event_type}: no project_id in the payload, say what its key is")
    return _KEY_PROJECT


def _hoist(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """Move a model schema's `$defs` into `schemas` (components/schemas); return the rest."""
    for name, definition in schema.pop("$defs", {}).items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas are both called {name!r}")
    return schema


def _add_schema(name: str, schema: dict[str, Any], schemas: dict[str, Any]) -> None:
    schema = _hoist(schema, schemas)
    if schemas.setdefault(name, schema) != schema:
        raise ValueError(f"two different schemas are both called {name!r}")


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    # Serialization mode: what a consumer reads (amounts are decimal strings on the wire).
    return model.model_json_schema(ref_template=SCHEMA_REF, mode="serialization")


def _envelope_schema() -> dict[str, Any]:
    schema = _model_schema(CloudEvent)
    # A field with a non-null default (`specversion`, `id`, `time`, ...) is always on the wire;
    # the null ones (`county`, `traceparent`) are left out when unset.
    schema["required"] = [
        name
        for name, field in CloudEvent.model_fields.items()
        if field.is_required() or field.default is not None
    ]
    schema["description"] = (
        "CloudEvents 1.0 envelope (structured JSON) with kuaiche's extensions `county`, "
        "`actor`, `sequence`, `partitionkey` and `traceparent`; `data` is the event type's payload."
    )
    return schema


def _message(event_type: str, model: type[BaseModel], source: str, topic: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": event_type,
        "title": model.__name__,
        "summary": f"`{event_type}` from `{source}` on `{topic}`",
        "contentType": CONTENT_TYPE,
        "payload": {
            "allOf": [
                {"$ref": SCHEMA_REF.format(model=ENVELOPE_SCHEMA)},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": event_type},
                        "source": {"const": source},
                        "data": {"$ref": SCHEMA_REF.format(model=model.__name__)},
                    },
                },
            ]
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": f"The message key: {_key_description(event_type, model)}.",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    if model.__doc__:
        message["description"] = " ".join(model.__doc__.split())
    return message


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document for every domain topic with a producer and every event type."""
    schemas: dict[str, Any] = {}
    _add_schema(ENVELOPE_SCHEMA, _envelope_schema(), schemas)
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in topics.DOMAIN_TOPICS:
        module = PRODUCERS.get(topic)
        if module is None:
            continue  # no producer publishes on it yet
        producer = module.__name__.rsplit(".", 1)[-1]
        event_types: dict[str, type[BaseModel]] = module.EVENT_TYPES
        channel_messages: dict[str, Any] = {}
        for event_type in sorted(event_types):
            model = event_types[event_type]
            _add_schema(model.__name__, _model_schema(model), schemas)
            if event_type in messages:
                raise ValueError(f"{event_type} is published on two topics")
            messages[event_type] = _message(event_type, model, module.SOURCE, topic)
            channel_messages[event_type] = {"$ref": f"#/components/messages/{event_type}"}
        channels[producer] = {
            "address": topic,
            "title": topic,
            "description": (
                f"Events the {producer} service publishes (CloudEvents 1.0, structured JSON); "
                f"dead letters go to `{topics.dead_letter_topic(topic)}`."
            ),
            "messages": channel_messages,
        }
        operations[f"receive_{producer}_events"] = {
            "action": "receive",
            "title": f"Consume {topic}",
            "summary": f"A subscriber reads the {producer} service's events from `{topic}`.",
            "channel": {"$ref": f"#/channels/{producer}"},
            "messages": [
                {"$ref": f"#/channels/{producer}/messages/{event_type}"}
                for event_type in channel_messages
            ],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "kuaiche events",
            "version": _package_version(),
            "description": (
                "The events kuaiche's services publish to Kafka: CloudEvents 1.0 in structured "
                "JSON mode (`application/cloudevents+json`), one topic per producing service, "
                "with the extensions `county`, `actor`, `sequence` (the aggregate's version "
                "after the change), `partitionkey` (the Kafka message key) and `traceparent` "
                "where tracing is on. Generated from `shared/events/catalogue/` by "
                "`python -m shared.events.asyncapi`; see docs/events.md."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": (
                    "A placeholder: the deployment's Kafka bootstrap servers "
                    "(`KUAICHE_KAFKA_BOOTSTRAP`) say where the topics are."
                ),
            }
        },
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {
            "messages": dict(sorted(messages.items())),
            "schemas": dict(sorted(schemas.items())),
        },
    }


def render() -> str:
    """The document as committed in docs/asyncapi.json."""
    return json.dumps(asyncapi_document(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    print(render(), end="")


if __name__ == "__main__":
    main()
