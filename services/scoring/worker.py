"""The scoring worker's job: follow the upstream topics into the current read-model epoch (and
onto a rebuilt one when it takes over). The outbox relay runs beside it, as in every worker."""

from __future__ import annotations

from functools import partial

from services.scoring import readmodel
from services.scoring.config import load_config
from services.scoring.readmodel import FEED, Feed
from shared.runtime import Runtime
from shared.service import WorkerJob


def jobs(runtime: Runtime, feed: Feed = FEED) -> dict[str, WorkerJob]:
    interval = load_config().epoch_check_interval
    return {"read-model": partial(readmodel.follow, runtime, feed, interval)}
