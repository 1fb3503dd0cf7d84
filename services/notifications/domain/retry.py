"""When a failed webhook delivery is tried again, and when a failing endpoint is given up on.

Pure: the caller passes the count of failures, what the receiver asked (Retry-After), a random
source and the clock.
"""

from __future__ import annotations

import datetime as dt
import math
import random

# Svix's retry schedule (https://docs.svix.com/retries), in seconds, each delay counted from the
# failure before it: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. Standard Webhooks
# (spec/standard-webhooks.md, "Deliverability and reliability") recommends such a schedule
# spanning days, with exponential backoff and jitter. Issue 11 reads "immediately" as the first
# retry, so a delivery is tried at most 1 + 8 = 9 times (Svix's own page counts "immediately" as
# the first attempt).
SCHEDULE: tuple[int, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)

# Each delay is multiplied by a random factor in this range, so endpoints that failed together
# (a receiver's outage) are not all retried in the same second: the spec's "random jitter".
JITTER: tuple[float, float] = (0.8, 1.2)

# The longest a receiver's Retry-After can push one retry: the schedule's largest step, so a
# receiver asking for a week cannot park a delivery beyond the schedule.
MAX_DELAY: int = max(SCHEDULE)

# Svix disables an endpoint whose every attempt failed for 5 days
# (https://docs.svix.com/retries, "Disabling failing endpoints"); issue 11 takes the same
# period and sends the commander a notice.
DISABLE_AFTER = dt.timedelta(days=5)


def next_delay(failures: int, retry_after: float | None, rng: random.Random) -> float | None:
    """Seconds to wait before the next try after the `failures`-th failed attempt (1-based:
    the first attempt failing is failures=1), or None when the schedule is exhausted and the
    delivery has failed for good.

    The scheduled step gets jitter (the immediate retry stays immediate). A receiver's
    Retry-After is honoured: the delay is at least what it asked, up to MAX_DELAY."""
    if failures < 1:
        raise ValueError("next_delay counts failures from 1")
    if failures > len(SCHEDULE):
        return None
    step = SCHEDULE[failures - 1]
    delay = step * rng.uniform(*JITTER) if step else 0.0
    if retry_after is not None and not math.isnan(retry_after) and retry_after > 0:
        delay = max(delay, min(retry_after, MAX_DELAY))
    return delay


def should_disable(failing_since: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether an endpoint that has failed without a success since `failing_since` (None: its
    last attempt succeeded) is disabled at `now`. Both instants are timezone-aware."""
    if failing_since is None:
        return False
    for name, value in (("failing_since", failing_since), ("now", now)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"should_disable needs a timezone-aware {name}")
    return now - failing_since >= DISABLE_AFTER
