"""The issues service (问题清单): its definition (`shared.http.app.build_app` and
`shared.runtime.run_worker` turn it into the API and the worker)."""

from __future__ import annotations

from services.issues import api, worker
from services.issues.config import load_config
from services.issues.handlers import projection_consumer
from services.issues.models import Base, idempotency, inbox, outbox
from services.issues.seed import load_demo
from shared.events.catalogue.issues import SOURCE
from shared.events.topics import ISSUES
from shared.service import ServiceDefinition

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
    consumers=lambda runtime: [projection_consumer(runtime)],
    load_demo=load_demo,
    jobs=worker.jobs,
    load_config=load_config,
)
