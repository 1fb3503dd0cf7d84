"""The factors service (要素跟着项目走): its definition (`shared.http.app.build_app` and
`shared.runtime.run_worker` turn it into the API and the worker)."""

from __future__ import annotations

from services.factors import api, handlers, worker
from services.factors.config import load_config
from services.factors.models import Base, idempotency, inbox, outbox
from services.factors.seed import load_demo
from shared.events.catalogue.factors import SOURCE
from shared.events.topics import FACTORS, REGISTRY
from shared.inbox import InboxConsumer
from shared.runtime import Runtime
from shared.service import ServiceDefinition


def consumers(runtime: Runtime, registry_topic: str = REGISTRY) -> list[InboxConsumer]:
    """The projection of the registry's projects; it reacts to a withdrawal by publishing
    releases on this service's own topic. (Tests point it at a topic of their own.)"""
    definition = runtime.definition
    return [
        InboxConsumer(
            handlers.CONSUMER,
            runtime.bus,
            runtime.session_factory,
            definition.inbox,
            [registry_topic],
            handlers.handlers(topic=definition.topic, source=definition.source),
        )
    ]


SERVICE = ServiceDefinition(
    name="factors",
    title="factors (要素跟着项目走)",
    source=SOURCE,
    topic=FACTORS,
    metadata=Base.metadata,
    outbox=outbox,
    inbox=inbox,
    idempotency=idempotency,
    migrations_package="services.factors.migrations",
    routers=[api.router],
    consumers=consumers,
    load_demo=load_demo,
    jobs=worker.jobs,
    load_config=load_config,
)
