"""What a service is, for the composition root: its tables, routes, consumers and demo.

Each service's `main.py` declares one ServiceDefinition; `shared.runtime` and `shared.http.app`
turn it into a running API and worker the same way for every service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import APIRouter
from sqlalchemy import MetaData, Table

# A worker job: runs until the event is set (a periodic scan loops with shared.waiting.pause).
WorkerJob = Callable[[asyncio.Event], Awaitable[None]]

if TYPE_CHECKING:
    from shared.inbox import InboxConsumer
    from shared.runtime import Runtime


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
    consumers: Callable[[Runtime], list[InboxConsumer]] = field(default=lambda rt: [])
    load_demo: Callable[[Runtime], Awaitable[str]] | None = None
    # Further worker jobs by name (periodic scans...), supervised like the relay and consumers.
    jobs: Callable[[Runtime], dict[str, WorkerJob]] = field(default=lambda rt: {})
    # Reads the service's own settings (`KUAICHE_<SERVICE>_*`) when the API or the worker starts,
    # so a bad value refuses the start (a ValueError) instead of failing the first request.
    load_config: Callable[[], object] = field(default=lambda: None)
