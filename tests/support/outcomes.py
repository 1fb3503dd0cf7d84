"""An `on_outcome` for tests that lists every event's outcome."""

from __future__ import annotations

from shared.inbox import OnOutcome, Outcome


def each(outcomes: list[Outcome]) -> OnOutcome:
    """Append each event's outcome to `outcomes` (told n at once: n entries)."""

    def on_outcome(outcome: Outcome, count: int) -> None:
        outcomes.extend([outcome] * count)

    return on_outcome
