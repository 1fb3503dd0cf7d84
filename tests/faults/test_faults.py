"""Kill things under load and check the histories (issue 14): each fault is injected in the
middle of a seeded workload of writes over HTTP, and once it has drained the checker proves
nothing acknowledged was lost, nothing applied twice, no answerless write half-written, every
event published and every read model equal to a rebuild. One line per fault says what was
checked. Rerun one fault with another seed:
`.venv/bin/python -m pytest tests/faults -k broker --fault-seed 7 -s`."""

from __future__ import annotations

import time

import pytest

from tests.faults.checker import LINES, Checker
from tests.faults.faults import FAULTS
from tests.faults.stack import Stack
from tests.faults.workload import Workload
from tests.support.receiver import webhook_receiver

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_nothing_lost_or_doubled_under(fault: str, stack: Stack, fault_seed: int) -> None:
    measured: dict[str, float] = {}

    inject, at = FAULTS[fault]
    with webhook_receiver() as receiver:
        workload = Workload(stack, seed=fault_seed, receiver=receiver)
        try:
            started = time.monotonic()
            history = await workload.drive(lambda: measured.update(inject(stack)), at)
            took = time.monotonic() - started
            report = await Checker(stack).check(history, fault)
        finally:
            await workload.unsubscribe()
    report.workload_took = took
    report.first_event_after_restart = measured
    print("\n" + report.line(), flush=True)
    LINES.append(report.line())
    assert report.acknowledged >= len(history.writes) // 2, history.statuses()
    assert report.ok, (
        report.line()
        + f"\nlost: {report.lost[:5]}\ndoubled: {report.doubled[:5]}\nhalf: {report.half[:5]}"
        + f"\nunpublished: {report.unpublished[:5]}\ndifferences: {report.differences}"
        + f"\nwebhooks received twice: {report.webhook_twice[:5]}"
        + f"\nwebhooks wrong: {report.webhook_wrong[:5]}"
        + f"\nanswers: {history.statuses()}"
    )
