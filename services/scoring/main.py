"""The scoring service (县区考核): its definition (`shared.http.app.build_app` and
`shared.runtime.run_worker` turn it into the API and the worker). It subscribes to the registry's,
factors' and issues' topics, but follows them with consumers of its own (`consumer=None`): the
worker's `read-model` job applies them to the current read-model epoch, and a rebuild replays
them into the next one (`readmodel`)."""

from __future__ import annotations

from functools import partial

from services.scoring import api, readmodel, standings
from services.scoring.config import load_config
from services.scoring.demo import load_demo
from services.scoring.handlers import factors_handlers, issues_handlers, registry_handlers
from services.scoring.models import Base, idempotency, inbox, outbox
from shared.events.catalogue.scoring import SOURCE
from shared.events.topics import FACTORS, ISSUES, REGISTRY, SCORING
from shared.runtime import Runtime
from shared.service import ServiceDefinition, WorkerJob


def jobs(runtime: Runtime) -> dict[str, WorkerJob]:
    """Follow the subscribed topics into the current epoch (and onto a rebuilt one); add each
    month to the kept standings when it begins."""
    feed = readmodel.Feed.of(runtime.definition)
    interval = runtime.config.epoch_check_interval
    return {
        "read-model": partial(readmodel.follow, runtime, feed, interval),
        "standings": partial(
            standings.keep_current, runtime, runtime.config.standings_check_interval
        ),
    }


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
    subscribes={REGISTRY: registry_handlers, FACTORS: factors_handlers, ISSUES: issues_handlers},
    consumer=None,
    load_demo=load_demo,
    jobs=jobs,
    load_config=load_config,
)
