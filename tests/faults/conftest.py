"""The fault suite's stack, started once for the session and stopped (and its state removed)
at the end whatever happened; `own_stack`, one of a module's own for the faults that stop or
drop its database; and the workload's seed: `--fault-seed N` (tests/conftest.py declares the
option) or KUAICHE_FAULT_SEED."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from tests.conftest import REQUIRE_INTEGRATION
from tests.faults.checker import LINES
from tests.faults.stack import API_REPLICAS, ONE_EACH, Stack

DEFAULT_SEED = 20200415


@pytest.fixture(scope="session")
def fault_seed(request: pytest.FixtureRequest) -> int:
    seed = request.config.getoption("--fault-seed")
    if seed is None:
        seed = int(os.environ.get("KUAICHE_FAULT_SEED", DEFAULT_SEED))
    return int(seed)


@contextlib.contextmanager
def _running(replicas: dict[str, int]) -> Iterator[Stack]:
    missing = Stack.missing_tools()
    if missing:
        if REQUIRE_INTEGRATION:
            pytest.fail(f"the fault suite needs {missing}")
        pytest.skip(f"the fault suite needs {missing}")
    stack = Stack.create(replicas)
    try:
        stack.start()
        yield stack
    finally:
        stack.close()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """A private PostgreSQL and Kafka on free ports and every service as its own processes."""
    with _running(API_REPLICAS) as running:
        yield running


@pytest.fixture(scope="module")
def own_stack() -> Iterator[Stack]:
    """A stack of the test module's own (one API replica each), which it may stop the database
    of or drop its databases, stopped and removed after the module."""
    with _running(ONE_EACH) as running:
        yield running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per fault run, with the counts its checker compared (passed or not)."""
    if LINES:
        terminalreporter.section("faults: what each run checked")
        for line in LINES:
            terminalreporter.write_line(line)
