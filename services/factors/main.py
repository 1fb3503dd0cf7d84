"""The factors service (要素跟着项目走): its definition (`shared.http.app.build_app` and
`shared.runtime.run_worker` turn it into the API and the worker)."""

from __future__ import annotations

from collections.abc import Mapping

from services.factors import api, handlers, service
from services.factors.config import FactorsConfig, load_config
from services.factors.demo import load_demo
from services.factors.models import Base, idempotency, inbox, outbox
from shared.clock import today_in_shanghai
from shared.events.catalogue.factors import SOURCE
from shared.events.topics import FACTORS, REGISTRY
from shared.inbox import Handler
from shared.runtime import Runtime
from shared.service import ServiceDefinition, WorkerJob


def project_handlers(runtime: Runtime) -> Mapping[str, Handler]:
    """The projection of the registry's projects; a withdrawal publishes releases on this
    service's own topic."""
    definition = runtime.definition
    return handlers.handlers(topic=definition.topic, source=definition.source)


def jobs(runtime: Runtime) -> dict[str, WorkerJob]:
    """The expiry scan (收回): releases allocations unused past their use-by date. Safe with
    several workers: each release re-reads the allocation under its pool's lock, so a second
    worker finds it released and passes over it."""
    config: FactorsConfig = runtime.config

    async def release_expired() -> int:
        return await service.release_expired(runtime.uow, today_in_shanghai())

    return {
        "expiry-scan": runtime.periodic(
            "expiry-scan",
            release_expired,
            every=config.expiry_scan_interval,
            done="allocation(s) released unused past their date",
        )
    }


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
    subscribes={REGISTRY: project_handlers},
    consumer=handlers.CONSUMER,
    load_demo=load_demo,
    jobs=jobs,
    load_config=load_config,
)
