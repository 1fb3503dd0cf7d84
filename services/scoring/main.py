"""The scoring service (县区考核): its definition (`shared.http.app.build_app` and
`shared.runtime.run_worker` turn it into the API and the worker). Its read model is fed by the
worker's `read-model` job rather than a fixed consumer, because a rebuild swaps it (`readmodel`)."""

from __future__ import annotations

from services.scoring import api, worker
from services.scoring.config import load_config
from services.scoring.models import Base, idempotency, inbox, outbox
from services.scoring.seed import load_demo
from shared.events.catalogue.scoring import SOURCE
from shared.events.topics import SCORING
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="scoring",
    title="scoring (县区考核)",
    source=SOURCE,
    topic=SCORING,
    metadata=Base.metadata,
    outbox=outbox,
    inbox=inbox,
    idempotency=idempotency,
    migrations_package="services.scoring.migrations",
    routers=[api.router],
    load_demo=load_demo,
    jobs=worker.jobs,
    load_config=load_config,
)
