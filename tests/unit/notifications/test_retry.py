"""The webhook retry schedule step by step, its jitter, Retry-After, exhaustion, and disabling
an endpoint that has failed for 5 days."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from services.notifications.domain import retry
from services.notifications.domain.retry import next_delay, should_disable

# Svix: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
STEPS = [0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600]


def test_the_schedule_is_svixs() -> None:
    assert list(retry.SCHEDULE) == STEPS
    assert retry.MAX_DELAY == 10 * 3600
    assert retry.DISABLE_AFTER == dt.timedelta(days=5)


@pytest.mark.parametrize(("failures", "step"), list(enumerate(STEPS, start=1)))
def test_each_step_within_its_jitter(failures: int, step: int) -> None:
    rng = random.Random(failures)
    for _ in range(200):
        delay = next_delay(failures, None, rng)
        assert delay is not None
        assert step * 0.8 <= delay <= step * 1.2


def test_the_first_retry_is_immediate_without_jitter() -> None:
    rng = random.Random(11)
    assert {next_delay(1, None, rng) for _ in range(50)} == {0.0}


@pytest.mark.parametrize("failures", range(2, len(STEPS) + 1))
def test_the_jitter_spreads_over_the_whole_band(failures: int) -> None:
    step = STEPS[failures - 1]
    rng = random.Random(2020)
    delays = [next_delay(failures, None, rng) for _ in range(500)]
    factors = [d / step for d in delays if d is not None]
    assert min(factors) < 0.82 and max(factors) > 1.18  # not a fixed delay, nor a narrow band
    assert 0.97 < sum(factors) / len(factors) < 1.03  # centred on the schedule


def test_the_same_seed_gives_the_same_delays() -> None:
    first = [next_delay(f, None, random.Random(7)) for f in range(1, 9)]
    second = [next_delay(f, None, random.Random(7)) for f in range(1, 9)]
    assert first == second


@pytest.mark.parametrize("failures", [len(STEPS) + 1, len(STEPS) + 5, 100])
def test_after_the_last_step_the_delivery_has_failed_for_good(failures: int) -> None:
    assert next_delay(failures, None, random.Random(1)) is None
    assert next_delay(failures, 60.0, random.Random(1)) is None  # Retry-After revives nothing


def test_nine_tries_in_all() -> None:
    rng = random.Random(3)
    tries = 1  # the first attempt
    while next_delay(tries, None, rng) is not None:
        tries += 1
    assert tries == 9


def test_failures_count_from_one() -> None:
    with pytest.raises(ValueError):
        next_delay(0, None, random.Random(1))


def test_retry_after_longer_than_the_step_is_honoured() -> None:
    # 5 s is due after the 2nd failure; the receiver asked for a minute.
    assert next_delay(2, 60.0, random.Random(1)) == 60.0
    # even the immediate retry waits when asked to
    assert next_delay(1, 30.0, random.Random(1)) == 30.0


def test_retry_after_shorter_than_the_step_changes_nothing() -> None:
    assert next_delay(3, 1.0, random.Random(5)) == next_delay(3, None, random.Random(5))


def test_retry_after_is_capped_at_the_largest_step() -> None:
    week = 7 * 24 * 3600.0
    assert next_delay(2, week, random.Random(1)) == 10 * 3600
    assert next_delay(1, math.inf, random.Random(1)) == 10 * 3600


@pytest.mark.parametrize("asked", [math.nan, -30.0, 0.0])
def test_a_meaningless_retry_after_is_ignored(asked: float) -> None:
    assert next_delay(2, asked, random.Random(9)) == next_delay(2, None, random.Random(9))


T0 = dt.datetime(2020, 4, 1, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("failing_for", "disabled"),
    [
        (dt.timedelta(0), False),
        (dt.timedelta(days=4, hours=23, minutes=59, seconds=59), False),
        (dt.timedelta(days=5), True),
        (dt.timedelta(days=6), True),
    ],
)
def test_an_endpoint_failing_for_5_days_is_disabled(
    failing_for: dt.timedelta, disabled: bool
) -> None:
    assert should_disable(T0, T0 + failing_for) is disabled


def test_an_endpoint_that_is_not_failing_stays() -> None:
    assert should_disable(None, T0 + dt.timedelta(days=30)) is False


def test_zones_do_not_matter_but_are_required() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert should_disable(T0.astimezone(shanghai), T0 + dt.timedelta(days=5))
    with pytest.raises(ValueError):
        should_disable(T0.replace(tzinfo=None), T0 + dt.timedelta(days=5))
    with pytest.raises(ValueError):
        should_disable(T0, (T0 + dt.timedelta(days=5)).replace(tzinfo=None))
