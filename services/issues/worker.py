"""The issues worker's own job: the periodic overdue scan (the relay and the projection
consumer run as for every service)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from services.issues import service
from services.issues.config import load_config
from shared.db import utcnow
from shared.runtime import Runtime
from shared.service import WorkerJob
from shared.waiting import pause

log = logging.getLogger(__name__)


def overdue_scan(
    runtime: Runtime, interval: float | None = None, clock: Callable[[], dt.datetime] = utcnow
) -> WorkerJob:
    """Every `interval` seconds, flag the newly overdue problems (a rerun flags nothing twice;
    a failure propagates to the worker's supervisor, which restarts the job)."""
    every = interval if interval is not None else load_config().overdue_scan_interval

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            flagged = await service.flag_overdue(runtime.uow, clock())
            if flagged:
                log.info("overdue scan: %d problem(s) newly overdue", flagged)
            await pause(stop, every)

    return run


def jobs(runtime: Runtime) -> dict[str, WorkerJob]:
    return {"overdue-scan": overdue_scan(runtime)}
