"""The faults, each a function of the stack run in the middle of a workload (in a thread: it
blocks on processes). Each returns what it measured (seconds a restarted worker took to apply
its first event, by worker). A new fault (PostgreSQL stopped and restarted, a restore drill) is
one more function here and one more entry in FAULTS."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Callable

import asyncpg

from tests.faults.stack import Process, Stack

BROKER_DOWN_SECONDS = 4.0
FIRST_EVENT_TIMEOUT = 60.0

Fault = Callable[[Stack], dict[str, float]]


def broker(stack: Stack) -> dict[str, float]:
    """kill -9 of the Kafka broker, started again after a few seconds on the same data."""
    stack.broker.kill9()
    time.sleep(BROKER_DOWN_SECONDS)
    stack.broker.start()
    return {}


def workers(stack: Stack) -> dict[str, float]:
    """kill -9 of each worker in turn (the registry's relay, then each consumer's worker),
    each started again at once; how long each took, once running again (its "worker running"
    line: the interpreter's start is not the worker's doing), to handle its first event. Each
    is timed in its own thread while the next is killed, so all restart while writes flow."""
    resumed: dict[str, float] = {}
    timers = []
    for process in list(stack.workers()):
        process.kill9()
        process.start()
        process.wait_ready()
        args = (resumed, stack, process, dt.datetime.now(dt.UTC))
        timers.append(threading.Thread(target=_time_first_event, args=args))
        timers[-1].start()
    for timer in timers:
        timer.join()
    return resumed


def api(stack: Stack) -> dict[str, float]:
    """kill -9 of one API replica of each written service while requests are in flight, each
    started again a few seconds later (the others keep answering meanwhile)."""
    for service in ("registry", "factors", "issues"):
        process = stack.apis(service)[0]
        process.kill9()
        time.sleep(2.0)
        process.start()
        process.wait_ready()
    return {}


def rebalance(stack: Stack) -> dict[str, float]:
    """A second replica of each consumer's worker joins the group mid-stream, shares its
    partitions for a while, and leaves (kill -9: its partitions go back after the session)."""
    joined = [stack.add(service, "worker") for service in ("factors", "issues", "scoring")]
    for process in joined:
        process.start()
    for process in joined:
        process.wait_ready()
    time.sleep(8.0)
    for i, process in enumerate(joined):
        if i % 2:
            process.kill9()
        else:
            process.stop()
        stack.processes.pop(process.name)
    return {}


# Each fault and the share of the workload sent before it starts: the workers' restarts take
# longest, so they start early enough to restart under load.
FAULTS: dict[str, tuple[Fault, float]] = {
    "broker": (broker, 0.5),
    "workers": (workers, 0.2),
    "api": (api, 0.5),
    "rebalance": (rebalance, 0.4),
}


def _time_first_event(
    resumed: dict[str, float], stack: Stack, process: Process, since: dt.datetime
) -> None:
    resumed[process.name] = first_event(stack, process.service, since)


def first_event(stack: Stack, service: str, since: dt.datetime) -> float:
    """Seconds from `since` (the kill) to the first event the service's worker handled after
    it: an event its relay published (registry) or one its consumers applied."""
    if service == "registry":
        query = "SELECT min(published_at) FROM outbox WHERE published_at > $1"
    else:
        query = "SELECT min(processed_at) FROM inbox WHERE processed_at > $1"

    async def wait() -> float:
        conn = await asyncpg.connect(stack.postgres.url(f"kuaiche_{service}"))
        try:
            deadline = time.monotonic() + FIRST_EVENT_TIMEOUT
            while time.monotonic() < deadline:
                first = await conn.fetchval(query, since)
                if first is not None:
                    return float((first - since).total_seconds())
                await asyncio.sleep(0.1)
            return float("nan")
        finally:
            await conn.close()

    return asyncio.run(wait())
