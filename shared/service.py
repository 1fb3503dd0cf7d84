"""What a service is, for the composition root: its tables, routes, subscriptions and demo.

Each service's `main.py` declares one ServiceDefinition; `shared.runtime` and `shared.http.app`
turn it into a running API and worker the same way for every service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from sqlalchemy import MetaData, Table

# A worker job: runs until the event is set (a periodic scan loops with shared.waiting.pause).
WorkerJob = Callable[[asyncio.Event], Awaitable[None]]


if TYPE_CHECKING:
    from shared.inbox import BeforeBatch, Handler
    from shared.runtime import Runtime

# What a service does with the events of one topic: a factory of its handlers by event type.
# The runtime calls it with itself when it builds the service's consumer; a service that
# follows its subscriptions itself (`consumer=None`: scoring's rebuildable epochs) calls it
# with what its own consumers need.
HandlerFactory = Callable[[Any], "Mapping[str, Handler]"]


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    title: str
    source: str  # CloudEvents source, e.g. kuaiche/registry
    topic: str  # the topic this service publishes to
    metadata: MetaData
    outbox: Table
    inbox: Table
    idempotency: Table
    migrations_package: str  # e.g. services.registry.migrations
    routers: Sequence[APIRouter]
    # The topics this service consumes, each with its handlers: the one place that says who
    # consumes what (the events guide's table is checked against it).
    subscribes: Mapping[str, HandlerFactory] = field(default_factory=dict)
    # The consumer group (and inbox name) the runtime follows `subscribes` with; None when the
    # service follows them with consumers of its own (in `jobs`).
    consumer: str | None = None
    # Reads together what the handlers of a batch will look up (`shared.rows`): a statement per
    # kind of row, not one per event.
    before_batch: BeforeBatch | None = None
    load_demo: Callable[[Runtime], Awaitable[str]] | None = None
    # Further worker jobs by name (periodic scans...), supervised like the relay and consumers.
    jobs: Callable[[Runtime], dict[str, WorkerJob]] = field(default=lambda rt: {})
    # Reads the service's own settings (`KUAICHE_<SERVICE>_*`) when the API or the worker starts,
    # so a bad value refuses the start (a ValueError) instead of failing the first request. The
    # result is `Runtime.config`, where routes and jobs take the values their use cases need.
    load_config: Callable[[], Any] = field(default=lambda: None)

    def handlers(self, context: Any) -> dict[str, Handler]:
        """Every subscribed topic's handlers, by event type."""
        merged: dict[str, Handler] = {}
        for factory in self.subscribes.values():
            merged.update(factory(context))
        return merged
