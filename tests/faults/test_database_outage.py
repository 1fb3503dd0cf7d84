"""PostgreSQL stopped under the running services and started again (issue 14): while it is down
every service answers its reads and writes with 503 problem+json and Retry-After, within its
timeouts, and /readyz says 503; requests in flight as it stops and starts get 2xx or 503, never
a 500 or no answer; no process dies; once it is back every service answers 2xx
again without a restart, and every write acknowledged before the outage has reached every
service downstream (the relays and consumers resumed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.http.problems import RETRY_AFTER_SECONDS
from tests.faults._db_support import (
    SERVICES,
    Suite,
    Traffic,
    new_issue,
    new_project,
    private_suite,
)

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


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    with private_suite(tmp_path_factory.mktemp("db-outage")) as running:
        yield running


async def test_the_services_answer_503_while_postgresql_is_down_and_recover_without_restart(
    suite: Suite,
) -> None:
    # ---- writes acknowledged before the outage
    projects: list[str] = []
    with suite.client("registry") as registry:
        for i in range(PROJECTS):
            r = registry.post("/v1/projects", json=new_project(i))
            assert r.status_code == 201, r.text
            projects.append(r.json()["id"])
    await suite.wait_count("issues", "SELECT count(*) FROM projects", PROJECTS)
    issues: list[str] = []
    with suite.client("issues") as client:
        for i, project in enumerate(projects):
            r = client.post("/v1/issues", json=new_issue(project, i))
            assert r.status_code == 201, r.text
            issues.append(r.json()["id"])
    for service, calls in reads_and_writes(1, projects[0]).items():
        with suite.client(service) as client:
            for method, path, body in calls:
                r = client.request(method, path, json=body)
                assert r.status_code in (200, 201), (service, path, r.text)

    # ---- the outage, with requests in flight through it
    with Traffic(suite, projects[0], CLIENT_TIMEOUT) as traffic:
        suite.postgres.stop()
        try:
            for service, calls in reads_and_writes(2, projects[1]).items():
                with suite.client(service, timeout=CLIENT_TIMEOUT) as client:
                    for method, path, body in [*calls, ("GET", "/readyz", None)]:
                        r = client.request(method, path, json=body)
                        assert r.status_code == 503, (service, method, path, r.status_code, r.text)
                        assert r.headers["content-type"] == "application/problem+json", r.headers
                        assert r.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
                        assert r.json()["status"] == 503
            suite.assert_alive()
        finally:
            suite.postgres.start()
        # ---- back, without a restart
        suite.wait_ready()
    assert not traffic.failures, traffic.failures[:5]
    assert {status for *_, status in traffic.statuses} <= {200, 201, 503}, traffic.statuses
    assert any(status == 503 for *_, status in traffic.statuses)
    projects += traffic.created["registry"]
    issues += traffic.created["issues"]
    for service, calls in reads_and_writes(2, projects[1]).items():
        with suite.client(service) as client:
            for method, path, body in calls:
                r = client.request(method, path, json=body)
                assert r.status_code in (200, 201), (service, method, path, r.text)
    suite.assert_alive()

    # ---- everything acknowledged before and during the outage reached every service
    await suite.settled()
    await suite.wait_count("factors", "SELECT count(*) FROM projects", len(projects) + 1)
    await suite.wait_count("issues", "SELECT count(*) FROM projects", len(projects) + 1)
    await suite.wait_count("notifications", "SELECT count(*) FROM projects", len(projects) + 1)
    await suite.wait_count("notifications", "SELECT count(*) FROM problems", len(issues) + 2)
    current = "(SELECT number FROM epochs WHERE state = 'current')"
    await suite.wait_count(
        "scoring", f"SELECT count(*) FROM projects WHERE epoch = {current}", len(projects) + 1
    )
    await suite.wait_count(
        "scoring", f"SELECT count(*) FROM problems WHERE epoch = {current}", len(issues) + 2
    )
    for service in ("factors", "issues", "scoring", "notifications"):
        known = {
            r[0]
            for r in await suite.sql(
                service,
                "SELECT project_id FROM projects"
                if service == "scoring"
                else "SELECT id FROM projects",
            )
        }
        assert set(projects) <= known, f"{service} lacks {set(projects) - known}"
    applied = {r[0] for r in await suite.sql("scoring", "SELECT issue_id FROM problems")}
    assert set(issues) <= applied

    # ---- the outage was told once per loop, not once per retry, and nothing crashed
    for service in SERVICES:
        log = suite.log(f"{service}-worker").read_text()
        assert "Traceback" not in log, f"{service}'s worker logged a traceback"
        assert "the database is back" in log, f"{service}'s worker never said it recovered"
        told = log.count("the database is unavailable (")
        assert told <= 12, f"{service}'s worker reported the outage {told} times"
