"""The fault suite's stack, started once for the session and stopped (and its state removed)
at the end whatever happened, and its seed: `--fault-seed N` (tests/conftest.py declares the
option) or KUAICHE_FAULT_SEED."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import REQUIRE_INTEGRATION
from tests.faults.stack import Stack

DEFAULT_SEED = 20200415


@pytest.fixture(scope="session")
def fault_seed(request: pytest.FixtureRequest) -> int:
    seed = request.config.getoption("--fault-seed")
    if seed is None:
        seed = int(os.environ.get("KUAICHE_FAULT_SEED", DEFAULT_SEED))
    return int(seed)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """A private PostgreSQL and Kafka on free ports and every service as its own processes."""
    missing = Stack.missing_tools()
    if missing:
        if REQUIRE_INTEGRATION:
            pytest.fail(f"the fault suite needs {missing}")
        pytest.skip(f"the fault suite needs {missing}")
    stack = Stack.create()
    try:
        stack.start()
        yield stack
    finally:
        stack.close()
