"""The notifications worker in a process of its own, on a test run's topics: what an
integration test kills with SIGKILL and starts again.

    python -m tests.support.notifications_worker SETTINGS_JSON TOPICS_JSON CONSUMER

SETTINGS_JSON is a ServiceSettings (model_dump_json with the secret revealed); TOPICS_JSON maps
each real topic the service subscribes to onto the run's topic. Its own settings come from the
environment (KUAICHE_NOTIFICATIONS_*), as in production. It prints "ready" once running."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys

from services.notifications.main import SERVICE
from shared.config import ServiceSettings
from shared.runtime import open_runtime, run_worker


async def main(settings_json: str, topics_json: str, consumer: str) -> None:
    topics: dict[str, str] = json.loads(topics_json)
    definition = dataclasses.replace(
        SERVICE,
        subscribes={topics[t]: factory for t, factory in SERVICE.subscribes.items()},
        consumer=consumer,
    )
    runtime = await open_runtime(definition, ServiceSettings.model_validate_json(settings_json))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    try:
        await run_worker(runtime, stop)
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
