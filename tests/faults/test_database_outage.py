"""PostgreSQL stopped under the running services and started again (issue 14): while it is down
every service answers its reads and writes with 503 problem+json and Retry-After, within its
timeouts, and /readyz says 503; requests in flight as it stops and starts get 2xx or 503, never
a 500 or no answer; no process dies; once it is back every service answers 2xx
again without a restart, and every write acknowledged before the outage has reached every
service downstream (the relays and consumers resumed)."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from shared.http.problems import RETRY_AFTER_SECONDS
from tests.faults.stack import SERVICES, Stack
from tests.faults.workload import new_issue, new_project, register_projects

pytestmark = [pytest.mark.faults, pytest.mark.integration]

PROJECTS = 12
# A client's bound on one answer while the database is down: the services' own bounds (connect
# 3 s, pool 10 s) are well inside it; asyncpg's default connect timeout (60 s) is not.
CLIENT_TIMEOUT = 30.0


def reads_and_writes(n: int, project: str) -> dict[str, list[tuple[str, str, dict | None]]]:
    """Per service: a list read and a creating write (method, path, body)."""
    return {
        "registry": [("GET", "/v1/projects", None), ("POST", "/v1/projects", new_project(n))],
        "factors": [
            ("GET", "/v1/pools", None),
            (
                "POST",
                "/v1/pools",
                {"factor": "water", "year": 2020 + n, "scope": "city", "amount": "100"},
            ),
        ],
        "issues": [("GET", "/v1/issues", None), ("POST", "/v1/issues", new_issue(project, n))],
        "scoring": [
            ("GET", "/v1/scorecards?year=2020&month=3", None),
            ("POST", "/v1/publications", {"year": 2020, "month": n}),
        ],
        "notifications": [
            ("GET", "/v1/recipients", None),
            (
                "POST",
                "/v1/recipients",
                {"kind": "department", "key": f"部门{n}", "name": f"部门{n}"},
            ),
        ],
    }


async def test_the_services_answer_503_while_postgresql_is_down_and_recover_without_restart(
    own_stack: Stack,
) -> None:
    stack = own_stack
    # ---- writes acknowledged before the outage
    projects = register_projects(stack, PROJECTS)
    await stack.wait_count("issues", "SELECT count(*) FROM projects", PROJECTS)
    issues: list[str] = []
    with stack.client("issues") as client:
        for i, project in enumerate(projects):
            r = client.post("/v1/issues", json=new_issue(project, i))
            assert r.status_code == 201, r.text
            issues.append(r.json()["id"])
    for service, calls in reads_and_writes(1, projects[0]).items():
        with stack.client(service) as client:
            for method, path, body in calls:
                r = client.request(method, path, json=body)
                assert r.status_code in (200, 201), (service, path, r.text)

    # ---- the outage, with requests in flight through it
    with Traffic(stack, projects[0], CLIENT_TIMEOUT) as traffic:
        stack.postgres.stop()
        try:
            for service, calls in reads_and_writes(2, projects[1]).items():
                with stack.client(service, timeout=CLIENT_TIMEOUT) as client:
                    for method, path, body in [*calls, ("GET", "/readyz", None)]:
                        r = client.request(method, path, json=body)
                        assert r.status_code == 503, (service, method, path, r.status_code, r.text)
                        assert r.headers["content-type"] == "application/problem+json", r.headers
                        assert r.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
                        assert r.json()["status"] == 503
            stack.assert_alive()
        finally:
            stack.postgres.start()
        # ---- back, without a restart
        stack.wait_ready()
    assert not traffic.failures, traffic.failures[:5]
    assert {status for *_, status in traffic.statuses} <= {200, 201, 503}, traffic.statuses
    assert any(status == 503 for *_, status in traffic.statuses)
    projects += traffic.created["registry"]
    issues += traffic.created["issues"]
    for service, calls in reads_and_writes(2, projects[1]).items():
        with stack.client(service) as client:
            for method, path, body in calls:
                r = client.request(method, path, json=body)
                assert r.status_code in (200, 201), (service, method, path, r.text)
    stack.assert_alive()

    # ---- everything acknowledged before and during the outage reached every service
    await stack.settled()
    await stack.wait_count("factors", "SELECT count(*) FROM projects", len(projects) + 1)
    await stack.wait_count("issues", "SELECT count(*) FROM projects", len(projects) + 1)
    await stack.wait_count("notifications", "SELECT count(*) FROM projects", len(projects) + 1)
    await stack.wait_count("notifications", "SELECT count(*) FROM problems", len(issues) + 2)
    current = "(SELECT number FROM epochs WHERE state = 'current')"
    await stack.wait_count(
        "scoring", f"SELECT count(*) FROM projects WHERE epoch = {current}", len(projects) + 1
    )
    await stack.wait_count(
        "scoring", f"SELECT count(*) FROM problems WHERE epoch = {current}", len(issues) + 2
    )
    for service in ("factors", "issues", "scoring", "notifications"):
        known = {
            r[0]
            for r in await stack.sql(
                service,
                "SELECT project_id FROM projects"
                if service == "scoring"
                else "SELECT id FROM projects",
            )
        }
        assert set(projects) <= known, f"{service} lacks {set(projects) - known}"
    applied = {r[0] for r in await stack.sql("scoring", "SELECT issue_id FROM problems")}
    assert set(issues) <= applied

    # ---- the outage was told once per loop, not once per retry, and nothing crashed
    for service in SERVICES:
        log = stack.processes[f"{service}-worker-1"].log.read_text()
        assert "Traceback" not in log, f"{service}'s worker logged a traceback"
        assert "the database is back" in log, f"{service}'s worker never said it recovered"
        told = log.count("the database is unavailable (")
        assert told <= 12, f"{service}'s worker reported the outage {told} times"


class Traffic:
    """Requests sent one after another from a thread while a fault happens: a project
    registered, a problem reported on `project`, a read of each other service. Keeps every
    answer's status, the ids of what was acknowledged (201), and every request that got no
    answer within `timeout` or whose service was gone."""

    def __init__(self, stack: Stack, project: str, timeout: float) -> None:
        self.stack = stack
        self.project = project
        self.timeout = timeout
        self.statuses: list[tuple[str, str, int]] = []
        self.created: dict[str, list[str]] = {"registry": [], "issues": []}
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout * 2)

    def _run(self) -> None:
        calls: list[tuple[str, str, str, Any]] = [
            ("registry", "POST", "/v1/projects", lambda i: new_project(1000 + i)),
            ("issues", "POST", "/v1/issues", lambda i: new_issue(self.project, 1000 + i)),
            ("factors", "GET", "/v1/pools", None),
            ("scoring", "GET", "/v1/scorecards?year=2020&month=3", None),
            ("notifications", "GET", "/v1/recipients", None),
        ]
        clients = {s: self.stack.client(s, timeout=self.timeout) for s in SERVICES}
        try:
            i = 0
            while not self._stop.is_set():
                service, method, path, body = calls[i % len(calls)]
                i += 1
                try:
                    r = clients[service].request(method, path, json=body(i) if body else None)
                except httpx.HTTPError as exc:
                    self.failures.append(f"{service} {method} {path}: {exc!r}")
                    continue
                self.statuses.append((service, method, r.status_code))
                if r.status_code == 201:
                    self.created[service].append(r.json()["id"])
        finally:
            for client in clients.values():
                client.close()
