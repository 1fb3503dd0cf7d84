"""Rebuild equivalence on PostgreSQL + Kafka: a random history applied incrementally by the
scoring worker gives the same read model and scorecards as a rebuild from the log's beginning
(the check: tests/api/scoring/equivalence.py)."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import pytest

from services.scoring.main import SERVICE
from services.scoring.readmodel import Feed
from shared.bus.kafka import KafkaBus
from shared.events.topics import FACTORS, ISSUES, REGISTRY, dead_letter_topic
from tests.api.scoring.equivalence import check_equivalence
from tests.conftest import create_database, make_settings
from tests.support.upstream import Upstream


def on_topics(topics: tuple[str, ...]) -> Any:
    """The scoring definition subscribed to this run's registry, factors and issues topics."""
    upstream = dict(zip((REGISTRY, FACTORS, ISSUES), topics, strict=True))
    return dataclasses.replace(
        SERVICE, subscribes={upstream[t]: f for t, f in SERVICE.subscribes.items()}
    )


@pytest.mark.integration
async def test_incremental_equals_rebuilt_on_postgres_and_kafka(
    tmp_path: Path, postgres_server: str, kafka_bootstrap: str
) -> None:
    run = uuid.uuid4().hex[:10]
    topics = tuple(f"kuaiche.it.{run}.{name}" for name in ("registry", "factors", "issues"))
    bus = KafkaBus(kafka_bootstrap)
    await bus.start()
    try:
        await bus.ensure_topics([*topics, *(dead_letter_topic(t) for t in topics)])
        settings = make_settings(
            "scoring", await create_database(postgres_server), tmp_path, kafka_bootstrap
        )
        upstream = Upstream(bus, *topics)
        await check_equivalence(
            7, bus, settings, Feed.of(on_topics(topics), group=f"scoring-{run}"), upstream, steps=300
        )
    finally:
        await bus.stop()
