"""The factors worker's own job: releasing allocations left unused past their use-by date
(收回). The relay and the registry projection run as for every service."""

from __future__ import annotations

import asyncio
import logging

from services.factors import service
from services.factors.config import load_config
from shared.clock import today_in_shanghai
from shared.runtime import Runtime
from shared.service import WorkerJob
from shared.waiting import pause

log = logging.getLogger(__name__)


def expiry_scan(runtime: Runtime, interval: float | None = None) -> WorkerJob:
    """Every `interval` seconds, release what is unused past its date. Safe with several
    workers: each release re-reads the allocation under its pool's lock, so a second worker
    finds it released and passes over it."""
    every = interval if interval is not None else load_config().expiry_scan_interval

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            released = await service.release_expired(runtime.uow, today_in_shanghai())
            if released:
                log.info("expiry scan: %d allocation(s) released unused", released)
            await pause(stop, every)

    return run


def jobs(runtime: Runtime) -> dict[str, WorkerJob]:
    return {"expiry-scan": expiry_scan(runtime)}
