"""The registry service (项目清单 + 进度清单): its definition (`shared.http.app.build_app` and
`shared.runtime.run_worker` turn it into the API and the worker)."""

from __future__ import annotations

from services.registry import api
from services.registry.demo import load_demo
from services.registry.models import Base, idempotency, inbox, outbox
from shared.events.catalogue.registry import SOURCE
from shared.events.topics import REGISTRY
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
