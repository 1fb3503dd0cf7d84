"""The event-type catalogue: one module per producing service.

Each payload model is a contract the producer owns and every consumer imports. A change that
breaks a consumer gets a new `.vN` type; `EVENT_TYPES` maps a type name to its payload model.
"""

from __future__ import annotations

from pydantic import BaseModel

from shared.events.catalogue import factors, issues, registry, scoring

EVENT_TYPES: dict[str, type[BaseModel]] = {
    **registry.EVENT_TYPES,
    **factors.EVENT_TYPES,
    **issues.EVENT_TYPES,
    **scoring.EVENT_TYPES,
}


def payload_model(event_type: str) -> type[BaseModel]:
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise KeyError(f"unknown event type {event_type!r}") from None
