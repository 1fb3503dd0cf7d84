"""A rebuild folds the log in memory with the follower's own handlers (`readmodel.Fold`)."""

from __future__ import annotations

import dataclasses

import pytest

from services.scoring.main import SERVICE
from services.scoring.models import ProblemView, ProjectView
from services.scoring.readmodel import Feed, Fold
from shared.events.topics import REGISTRY


def test_a_rebuild_folds_every_event_type_the_follower_applies() -> None:
    feed = Feed.of(SERVICE)
    assert set(feed.rules()) == set(feed.handlers(1))


def test_a_feed_whose_handlers_are_not_scorings_cannot_fold() -> None:
    definition = dataclasses.replace(
        SERVICE, subscribes={**SERVICE.subscribes, REGISTRY: lambda epoch: {}}
    )
    with pytest.raises(TypeError, match="cannot fold"):
        Feed.of(definition).rules()


async def test_a_folds_rows_are_found_by_their_primary_key_with_unset_columns_null() -> None:
    fold = Fold(7)
    problem = fold.new(ProblemView, epoch=7, issue_id="q1", title="")  # title is no key
    problem.status = "reported"
    found = await fold.get(ProblemView, {"epoch": 7, "issue_id": "q1"})
    assert found is problem
    assert (found.title, found.status, found.resolved_on, found.closed_on) == (
        "",
        "reported",
        None,
        None,
    )
    assert await fold.get(ProjectView, {"epoch": 7, "project_id": "q1"}) is None
