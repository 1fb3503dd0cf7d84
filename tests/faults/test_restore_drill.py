"""The restore drill (issue 14): `pg_dump` of each service's database, the databases dropped and
restored (scripts/pg_backup.sh, as an operator runs it), the services started again: every
table of every service equal, row for row, to what was dumped; the services serve and take new
writes; and scoring's read model rebuilt from Kafka (`kuaiche scoring rebuild`) answers exactly
what it answered before."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.faults.stack import ROOT, SERVICES, Stack
from tests.faults.workload import new_issue, new_project, register_projects

pytestmark = [pytest.mark.faults, pytest.mark.integration]

PROJECTS = 12
CURRENT = "(SELECT number FROM epochs WHERE state = 'current')"
# What scoring answers, read before the drill and after the rebuild.
SCORING_READS = [
    "/v1/scorecards?year=2020&month=3",
    "/v1/rankings?year=2020&month=3",
    "/v1/exposure?kind=unstarted&year=2020&month=3",
    "/v1/exposure?kind=overdue&year=2020&month=4",
    "/v1/figures?year=2020&month=3",
    "/v1/publications",
]


async def test_dump_drop_restore_loses_nothing_and_scoring_rebuilds_the_same(
    own_stack: Stack, tmp_path: Path
) -> None:
    stack = own_stack
    await _write_some_of_everything(stack)
    await stack.settled()
    await stack.wait_count(
        "scoring", f"SELECT count(*) FROM problems WHERE epoch = {CURRENT}", PROJECTS
    )
    scoring_before = _scoring_answers(stack)
    assert scoring_before["/v1/publications"]["total"] == 1
    epoch_before = (await stack.sql("scoring", f"SELECT {CURRENT}"))[0][0]

    stack.stop_services()
    tables_before = {s: await _tables(stack, s) for s in SERVICES}
    assert tables_before["registry"]["projects"][0] == PROJECTS
    backup = tmp_path / "backup"
    _backup("dump", backup, stack)
    _backup("restore", backup, stack)
    for service in SERVICES:
        assert await _tables(stack, service) == tables_before[service], service

    stack.start_services()
    out = stack.kuaiche("scoring", "rebuild")
    assert "rebuilt as epoch" in out, out
    assert (await stack.sql("scoring", f"SELECT {CURRENT}"))[0][0] > epoch_before
    assert _scoring_answers(stack) == scoring_before
    await stack.wait_count(
        "scoring", f"SELECT count(*) FROM problems WHERE epoch = {CURRENT}", PROJECTS
    )

    # the services take writes again, and their events still flow
    with stack.client("registry") as registry:
        r = registry.post("/v1/projects", json=new_project(PROJECTS))
        assert r.status_code == 201, r.text
    await stack.settled()
    await stack.wait_count(
        "scoring", f"SELECT count(*) FROM projects WHERE epoch = {CURRENT}", PROJECTS + 1
    )


async def _write_some_of_everything(stack: Stack) -> None:
    projects = register_projects(stack, PROJECTS)
    await stack.wait_count("issues", "SELECT count(*) FROM projects", PROJECTS)
    await stack.wait_count("factors", "SELECT count(*) FROM projects", PROJECTS)
    with stack.client("issues") as issues:
        for i, project in enumerate(projects):
            r = issues.post("/v1/issues", json=new_issue(project, i))
            assert r.status_code == 201, r.text
    with stack.client("factors") as factors:
        r = factors.post(
            "/v1/pools", json={"factor": "land", "year": 2020, "scope": "city", "amount": "500"}
        )
        assert r.status_code == 201, r.text
    with stack.client("notifications") as notifications:
        r = notifications.post(
            "/v1/recipients", json={"kind": "county", "key": "371681", "name": "邹平市"}
        )
        assert r.status_code == 201, r.text
    with stack.client("scoring") as scoring:
        r = scoring.post("/v1/publications", json={"year": 2020, "month": 3})
        assert r.status_code == 201, r.text


def _scoring_answers(stack: Stack) -> dict[str, Any]:
    with stack.client("scoring") as scoring:
        answers = {}
        for path in SCORING_READS:
            r = scoring.get(path)
            assert r.status_code == 200, (path, r.text)
            answers[path] = r.json()
        return answers


async def _tables(stack: Stack, service: str) -> dict[str, tuple[int, str]]:
    """Every table of the service's database: its row count and a digest of its rows."""
    names = [
        r[0]
        for r in await stack.sql(
            service,
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        )
    ]
    digests = {}
    for name in names:
        row = (
            await stack.sql(
                service,
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                f'FROM "{name}" t',
            )
        )[0]
        digests[name] = (row[0], row[1])
    return digests


def _backup(action: str, directory: Path, stack: Stack) -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "pg_backup.sh"), action, str(directory)],
        env={**stack.postgres.env(), "PGPORT": str(stack.postgres.port)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"pg_backup.sh {action}:\n{done.stdout}\n{done.stderr}"
