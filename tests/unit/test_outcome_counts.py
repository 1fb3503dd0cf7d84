"""shared.runtime.count_outcomes: each event a consumer handled, counted by outcome, though a
batch or a replayed fetch tells its outcomes at once."""

from shared.inbox import Outcome, tally
from shared.metrics import Metrics
from shared.runtime import count_outcomes


def _consumed(metrics: Metrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value("kuaiche_events_consumed_total", {"outcome": outcome})
    return value or 0.0


def test_every_event_is_counted_once_whatever_the_calls() -> None:
    metrics = Metrics("test")
    on_outcome = count_outcomes(metrics)
    tally([Outcome.APPLIED, Outcome.DUPLICATE, Outcome.APPLIED, Outcome.APPLIED], on_outcome)
    on_outcome(Outcome.APPLIED, 1)  # an event handled alone
    tally([], on_outcome)
    assert _consumed(metrics, "applied") == 4
    assert _consumed(metrics, "duplicate") == 1
    assert _consumed(metrics, "dead_lettered") == 0


def test_a_batch_tells_each_outcome_once_with_its_count() -> None:
    calls: list[tuple[Outcome, int]] = []
    tally([Outcome.IGNORED, Outcome.APPLIED, Outcome.IGNORED], lambda o, n: calls.append((o, n)))
    assert sorted(calls) == [(Outcome.APPLIED, 1), (Outcome.IGNORED, 2)]
    tally([Outcome.APPLIED], None)  # no listener: nothing to do
