"""The outage log: one line per change of state, and the client's repeats dropped."""

from __future__ import annotations

import logging

import pytest

from shared.bus.watch import BusWatch, QuietRepeats


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shared.bus.watch"]


def test_each_change_of_state_is_told_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    watch = BusWatch("registry", QuietRepeats())
    looks = [
        (None, 0, 0.0),
        ("KafkaConnectionError", 1, 1.0),
        ("KafkaConnectionError", 3, 2.0),
        ("KafkaConnectionError", 9, 3.0),
        (None, 9, 4.0),
        (None, 2, 0.1),
        (None, 0, 0.0),
        (None, 0, 0.0),
    ]
    for error, backlog, age in looks:
        watch.observe(error, backlog, age, stuck_after=30.0)
    told = lines(caplog)
    states = ["the bus is down", "the outbox backlog is growing", "the bus is back", "drained"]
    assert len(told) == len(states)
    assert all(state in line for state, line in zip(states, told, strict=True)), told


def test_a_backlog_stuck_with_the_bus_up_is_told(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    watch = BusWatch("registry", QuietRepeats())
    watch.observe(None, 5, 10.0, stuck_after=30.0)  # young: the relay is on it
    assert lines(caplog) == []
    watch.observe(None, 8, 40.0, stuck_after=30.0)
    assert len(lines(caplog)) == 1 and "growing" in lines(caplog)[0]


def test_a_client_message_passes_once_per_outage() -> None:
    quiet = QuietRepeats()

    def record(msg: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logging.LogRecord("aiokafka", level, __file__, 1, msg, ("127.0.0.1", 1), None)

    assert quiet.filter(record("Unable connect to node with id %s: %s"))
    assert not quiet.filter(record("Unable connect to node with id %s: %s"))
    assert quiet.filter(record("Unable to update metadata from %s"))
    assert quiet.filter(record("Heartbeat %s", logging.INFO))  # below WARNING: untouched
    assert quiet.filter(record("Heartbeat %s", logging.INFO))
    assert quiet.new_outage() == 1
    assert quiet.filter(record("Unable connect to node with id %s: %s"))
