"""Kafka as the services use it, on the running broker: every topic keeps its whole history
(a rebuild a year later still reads the first event), and a worker killed with SIGKILL and
started again under the same instance id resumes consuming (static membership)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.notifications.main import SERVICE as NOTIFICATIONS
from shared.bus.base import OutgoingMessage
from shared.bus.kafka import KafkaBus, topic_configs
from shared.events.envelope import CloudEvent
from shared.events.topics import ALL_TOPICS, dead_letter_topic
from shared.migrations import upgrade
from tests.conftest import make_settings, wait_until
from tests.support.transactions import still_open

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def retention(bootstrap: str, topics: list[str]) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {t: c["retention.ms"] for t, c in (await topic_configs(admin, topics)).items()}
    finally:
        await admin.close()


async def test_every_topic_keeps_its_whole_history(kafka_bootstrap: str) -> None:
    run = uuid.uuid4().hex[:10]
    made_short, new = f"kuaiche.it.{run}.short", f"kuaiche.it.{run}.new"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:  # a topic made before the setting, keeping a day
        await admin.create_topics(
            [NewTopic(made_short, 1, 1, topic_configs={"retention.ms": "86400000"})]
        )
    finally:
        await admin.close()
    assert (await retention(kafka_bootstrap, [made_short]))[made_short] == "86400000"

    bus = KafkaBus(kafka_bootstrap)
    await bus.ensure_topics([made_short, new, *ALL_TOPICS])

    kept = await retention(kafka_bootstrap, [made_short, new, *ALL_TOPICS])
    assert kept == {t: "-1" for t in [made_short, new, *ALL_TOPICS]}


class Worker:
    """`python -m tests.support.notifications_worker` (any worker would do: what is watched is
    its consumer group's committed offsets)."""

    def __init__(self, settings_json: str, topics: dict[str, str], group: str) -> None:
        self.args = [settings_json, json.dumps(topics), group]
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> float:
        """Start it; returns when it said "ready" (time.monotonic)."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.notifications_worker",
            *self.args,
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        assert line.strip() == b"ready", line
        return time.monotonic()

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), 10)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def committed(bootstrap: str, group: str) -> int:
    """How many messages the group has committed, over all its partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return sum(o.offset for o in offsets.values() if o.offset > 0)
    finally:
        await admin.close()


def ping(n: int) -> OutgoingMessage:
    event = CloudEvent(
        source="kuaiche/test",
        type="kuaiche.test.ping.v1",  # no handler: consumed and skipped
        subject=f"ping-{n}",
        data={},
        county=None,
        actor="test",
        sequence=n,
        partitionkey=f"ping-{n}",
    )
    return OutgoingMessage(topic="", key=event.partitionkey, value=event.to_json())


async def test_a_killed_worker_resumes_under_its_instance_id(
    tmp_path: Path, postgres_url: str, kafka_bootstrap: str
) -> None:
    run = uuid.uuid4().hex[:10]
    topics = {t: f"kuaiche.it.{run}.{t.rsplit('.', 1)[1]}" for t in NOTIFICATIONS.subscribes}
    group = f"notifications-{run}"
    await upgrade(NOTIFICATIONS, postgres_url)
    settings = make_settings("notifications", postgres_url, tmp_path, kafka_bootstrap)
    settings.instance_id = f"it-{run}"
    dumped = settings.model_dump(mode="json")
    dumped["jwt_secret"] = settings.jwt_secret.get_secret_value()
    bus = KafkaBus(kafka_bootstrap)
    await bus.ensure_topics([t for x in topics.values() for t in (x, dead_letter_topic(x))])
    into = next(iter(topics.values()))

    async def publish(n: int) -> None:
        m = ping(n)
        await bus.publish([OutgoingMessage(into, m.key, m.value)])

    worker = Worker(json.dumps(dumped), topics, group)
    try:
        await worker.start()
        await publish(1)
        await wait_until(
            lambda: _at_least(kafka_bootstrap, group, 1), 60, 0.2, "the first event consumed"
        )
        await worker.kill()
        await publish(2)
        started = time.monotonic()
        ready = await worker.start()
        await wait_until(
            lambda: _at_least(kafka_bootstrap, group, 2), 60, 0.1, "the worker to resume"
        )
        done = time.monotonic()
        print(
            f"\nrestarted worker: consumed again {done - started:.2f} s after its start,"
            f" {done - ready:.2f} s after it was ready"
        )
    finally:
        await worker.stop()
        await bus.stop()


async def _at_least(bootstrap: str, group: str, n: int) -> bool:
    return await committed(bootstrap, group) >= n


# A relay killed inside its Kafka transaction: the process below sends one event in a
# transaction under the bus's settings, then SIGKILLs itself before the commit.
_DIES_MID_TRANSACTION = """
import asyncio, os, signal, sys
from shared.bus.kafka import KafkaBus

async def main(bootstrap, topic, instance):
    bus = KafkaBus(bootstrap, client_id="kuaiche-it", instance_id=instance)
    producer = await bus._open_producer()
    await producer.begin_transaction()
    await (await producer.send(topic, value=b"left open", key=b"k"))
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main(*sys.argv[1:]))
"""


async def test_a_replica_restarted_under_its_name_ends_the_transaction_its_predecessor_left_open(
    kafka_bootstrap: str,
) -> None:
    """A transaction left open hides every later event of its partition from read_committed
    consumers until it ends. The replica started again under the same instance id uses the same
    transactional id: its first publish fences the dead producer, which aborts that transaction
    at once (without it, the broker would abort it only at its timeout)."""
    run = uuid.uuid4().hex[:10]
    topic, instance = f"kuaiche.it.{run}.open", f"replica-{run}"
    await KafkaBus(kafka_bootstrap).ensure_topics([topic])
    dead = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _DIES_MID_TRANSACTION,
        kafka_bootstrap,
        topic,
        instance,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert await dead.wait() == -signal.SIGKILL
    partitions = [TopicPartition(topic, p) for p in range(3)]
    assert await still_open(kafka_bootstrap, partitions)  # left open

    restarted = KafkaBus(kafka_bootstrap, client_id="kuaiche-it", instance_id=instance)
    try:
        await restarted.publish([OutgoingMessage(topic=topic, key="k", value=b"after")])
    finally:
        await restarted.stop()
    # the open transaction and the new one both ended: the stable offset is the log's end
    assert await still_open(kafka_bootstrap, partitions) == []
