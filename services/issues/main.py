"""The issues service (问题清单): its definition (`shared.http.app.build_app` and
`shared.runtime.run_worker` turn it into the API and the worker)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from services.issues import api, handlers, service
from services.issues.config import IssuesConfig, load_config
from services.issues.demo import load_demo
from services.issues.models import Base, idempotency, inbox, outbox
from shared.db import utcnow
from shared.events.catalogue.issues import SOURCE
from shared.events.topics import ISSUES, REGISTRY
from shared.runtime import Runtime
from shared.service import ServiceDefinition, WorkerJob


def overdue_scan(runtime: Runtime, clock: Callable[[], dt.datetime] = utcnow) -> WorkerJob:
    """Every `overdue_scan_interval` seconds, flag the problems newly overdue at `clock()`
    (a rerun flags nothing twice)."""
    config: IssuesConfig = runtime.config

    async def step() -> int:
        return await service.flag_overdue(runtime.uow, clock())

    return runtime.periodic(
        "overdue-scan", step, config.overdue_scan_interval, "problem(s) newly overdue"
    )


SERVICE = ServiceDefinition(
    name="issues",
    title="issues (问题清单)",
    source=SOURCE,
    topic=ISSUES,
    metadata=Base.metadata,
    outbox=outbox,
    inbox=inbox,
    idempotency=idempotency,
    migrations_package="services.issues.migrations",
    routers=[api.router],
    subscribes={REGISTRY: lambda runtime: handlers.HANDLERS},
    consumer=handlers.CONSUMER,
    before_batch=handlers.prefetch,
    load_demo=load_demo,
    jobs=lambda runtime: {"overdue-scan": overdue_scan(runtime)},
    load_config=load_config,
)
