"""The registry service (项目清单 + 进度清单): its definition and app factory."""

from __future__ import annotations

from fastapi import FastAPI

from services.registry import api
from services.registry.models import Base, idempotency, inbox, outbox
from services.registry.seed import load_demo
from shared.bus.base import Bus
from shared.config import ServiceSettings
from shared.events.catalogue.registry import SOURCE
from shared.events.topics import REGISTRY
from shared.http.app import build_app
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="registry",
    title="registry (项目清单 + 进度清单)",
    source=SOURCE,
    topic=REGISTRY,
    metadata=Base.metadata,
    outbox=outbox,
    inbox=inbox,
    idempotency=idempotency,
    migrations_package="services.registry.migrations",
    routers=[api.router],
    load_demo=load_demo,
)


def create_app(
    settings: ServiceSettings, *, bus: Bus | None = None, with_worker: bool = False
) -> FastAPI:
    return build_app(SERVICE, settings, bus=bus, with_worker=with_worker)
