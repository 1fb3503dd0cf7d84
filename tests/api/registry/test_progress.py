"""Annual plans, monthly reports 月度调度 and the progress arithmetic 投资完成率 / 序时进度."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.registry.helpers import (
    BINCHENG,
    county_actor,
    county_token,
    create_project,
    error_fields,
    future_period,
    has_error,
    move,
    nothing_written,
    one_new_event,
    outbox_count,
    problem,
    read_project,
    today,
)
from tests.conftest import COMMANDER

PLAN_SET = "kuaiche.project.plan_set.v1"
REPORT_SUBMITTED = "kuaiche.project.report_submitted.v1"


async def _plan(registry, pid: str, year: int, annual: str, targets: dict, headers=COMMANDER):
    return await registry.client.put(
        f"/v1/projects/{pid}/plans/{year}",
        json={"annual_investment": annual, "monthly_targets": targets},
        headers=headers,
    )


async def _report(registry, pid: str, period: str, ytd: str, month: str, **more: Any):
    headers = more.pop("headers", COMMANDER)
    return await registry.client.post(
        f"/v1/projects/{pid}/reports",
        json={"period": period, "ytd_investment": ytd, "month_investment": month, **more},
        headers=headers,
    )


async def _progress(registry, pid: str, year: int = 2020, **params: Any) -> dict[str, Any]:
    r = await registry.client.get(
        f"/v1/projects/{pid}/progress", params={"year": year, **params}, headers=COMMANDER
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


# ---------------------------------------------------------------- plans
async def test_put_plan_stores_it_and_emits_plan_set(registry):
    project = await create_project(registry)
    before = await outbox_count(registry)
    r = await _plan(
        registry, project["id"], 2020, "1200", {"3": "200", "6": "600.50", "12": "1200"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {
        "project_id": project["id"],
        "year": 2020,
        "annual_investment": "1200",
        "monthly_targets": {"3": "200", "6": "600.5", "12": "1200"},
        "version": 2,
    }
    now = await read_project(registry, project["id"])
    assert now["version"] == 2
    event = await one_new_event(registry, before, PLAN_SET, now)
    assert event["data"]["year"] == 2020
    assert event["data"]["annual_investment"] == "1200"
    assert event["data"]["monthly_targets"] == {"3": "200", "6": "600.5", "12": "1200"}


async def test_put_plan_again_replaces_it(registry):
    project = await create_project(registry)
    assert (await _plan(registry, project["id"], 2020, "1200", {"6": "600"})).status_code == 200
    before = await outbox_count(registry)
    r = await _plan(registry, project["id"], 2020, "1500", {"9": "900"})
    assert r.status_code == 200, r.text
    assert r.json()["monthly_targets"] == {"9": "900"}
    assert r.json()["version"] == 3
    await one_new_event(registry, before, PLAN_SET, await read_project(registry, project["id"]))
    progress = await _progress(registry, project["id"], as_of="2020-09")
    assert progress["annual_plan"] == "1500"
    assert progress["target_to_date"] == "900"


async def test_a_plan_without_monthly_targets_is_accepted(registry):
    project = await create_project(registry)
    r = await _plan(registry, project["id"], 2020, "800", {})
    assert r.status_code == 200, r.text
    assert r.json()["monthly_targets"] == {}


@pytest.mark.parametrize(
    ("annual", "targets", "field", "words"),
    [
        ("1200", {"3": "300", "6": "250"}, "monthly_targets.6", ("lower than month 3",)),
        ("1200", {"6": "600", "12": "1100"}, "monthly_targets.12", ("December", "equal")),
        ("1200", {"6": "1300"}, "monthly_targets.6", ("above the annual",)),
        ("0", {"1": "8006"}, "monthly_targets.1", ("above the annual",)),
    ],
)
async def test_targets_against_each_other_and_the_year_are_409_on_the_field(
    registry, annual, targets, field, words
):
    """Rules across fields, which no schema states: 409, naming the month."""
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await _plan(registry, project["id"], 2020, annual, targets)
    body = problem(r, 409)
    assert has_error(body, field, *words), body


@pytest.mark.parametrize(
    ("annual", "targets", "field", "words"),
    [
        ("1200", {"6": "-1"}, "monthly_targets.6", ()),
        ("-5", {}, "annual_investment", ()),
        ("1.23456", {}, "annual_investment", ()),
    ],
)
async def test_a_bad_plan_is_422_on_the_field_and_writes_nothing(
    registry, annual, targets, field, words
):
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await _plan(registry, project["id"], 2020, annual, targets)
    body = problem(r, 422)
    assert has_error(body, field, *words), body


@pytest.mark.parametrize("month", ["13", "0", "01", " 1", "1.0", "+1"])
async def test_a_plan_for_a_month_the_schema_does_not_name_is_422(registry, month):
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await _plan(registry, project["id"], 2020, "1200", {month: "1200"})
    assert any(f.startswith("monthly_targets") for f in error_fields(problem(r, 422)))


@pytest.mark.parametrize("year", [1999, 2101])
async def test_a_plan_year_out_of_range_is_422(registry, year):
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await _plan(registry, project["id"], year, "1200", {})
    assert "year" in error_fields(problem(r, 422))


async def test_a_plan_for_an_unknown_project_is_404(registry):
    problem(await _plan(registry, "nope", 2020, "1200", {}), 404)


# ---------------------------------------------------------------- reports
async def test_a_report_is_stored_and_emits_report_submitted(registry):
    project = await create_project(registry, county=BINCHENG)
    before = await outbox_count(registry)
    r = await _report(
        registry,
        project["id"],
        "2020-04",
        "300.25",
        "100",
        started=True,
        progress_note="主体结构施工",
        headers=county_token(BINCHENG),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["period"] == "2020-04"
    assert (body["ytd_investment"], body["month_investment"]) == ("300.25", "100")
    assert body["started"] is True
    assert body["progress_note"] == "主体结构施工"
    assert body["submitted_by"] == county_actor(BINCHENG)

    now = await read_project(registry, project["id"])
    assert now["version"] == 2
    event = await one_new_event(registry, before, REPORT_SUBMITTED, now, county_actor(BINCHENG))
    assert event["data"]["period"] == "2020-04"
    assert (event["data"]["year"], event["data"]["month"]) == (2020, 4)
    assert event["data"]["ytd_investment"] == "300.25"
    assert event["data"]["started"] is True


async def test_a_report_for_the_current_month_is_accepted(registry):
    project = await create_project(registry)
    period = f"{today().year:04d}-{today().month:02d}"
    r = await _report(registry, project["id"], period, "10", "10")
    assert r.status_code == 201, r.text


async def test_a_report_for_a_future_month_is_409_on_period(registry):
    """A rule against today, which no schema states: 409."""
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await _report(registry, project["id"], future_period(), "10", "10")
    body = problem(r, 409)
    assert error_fields(body) == {"period"}
    assert "future" in body["detail"]


@pytest.mark.parametrize(
    "period", ["2020-13", "2020-00", "2020/04", "April", "2020-4", " 2020-04", "1989-12"]
)
async def test_a_malformed_period_is_422_on_period(registry, period):
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await _report(registry, project["id"], period, "10", "10")
    assert error_fields(problem(r, 422)) == {"period"}


async def test_ytd_below_the_previous_month_needs_a_correction_note(registry):
    project = await create_project(registry)
    assert (await _report(registry, project["id"], "2020-03", "500", "200")).status_code == 201
    async with nothing_written(registry, project["id"]):
        r = await _report(registry, project["id"], "2020-04", "450", "0")
    body = problem(r, 409)  # against the reports already in: 409
    assert has_error(body, "ytd_investment", "correction note")
    assert "500" in body["detail"]

    async with nothing_written(registry, project["id"]):  # a blank note is no note
        r = await _report(registry, project["id"], "2020-04", "450", "0", correction_note="  ")
    assert has_error(problem(r, 409), "ytd_investment", "correction note")

    before = await outbox_count(registry)
    r = await _report(
        registry, project["id"], "2020-04", "450", "0", correction_note="3月重复统计50万元"
    )
    assert r.status_code == 201, r.text
    assert r.json()["correction_note"] == "3月重复统计50万元"
    event = await one_new_event(
        registry, before, REPORT_SUBMITTED, await read_project(registry, project["id"])
    )
    assert event["data"]["correction_note"] == "3月重复统计50万元"


async def test_ytd_is_compared_with_the_latest_earlier_month_of_the_same_year(registry):
    project = await create_project(registry)
    for period, ytd in (("2019-11", "900"), ("2020-01", "100"), ("2020-03", "300")):
        r = await _report(registry, project["id"], period, ytd, "50")
        assert r.status_code == 201, r.text
    # February comes after January (100), not March; a new year starts from zero
    r = await _report(registry, project["id"], "2020-02", "150", "50")
    assert r.status_code == 201, r.text
    async with nothing_written(registry, project["id"]):
        r = await _report(registry, project["id"], "2020-04", "299", "0")
    assert has_error(problem(r, 409), "ytd_investment", "correction note")


async def test_month_investment_above_ytd_is_409(registry):
    """One field against another, which no schema states: 409."""
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await _report(registry, project["id"], "2020-04", "100", "150")
    assert has_error(problem(r, 409), "month_investment", "above")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"period": "2020-04", "ytd_investment": "-1", "month_investment": "0"}, "ytd_investment"),
        ({"period": "2020-04", "ytd_investment": "1", "month_investment": "x"}, "month_investment"),
        ({"period": "2020-04", "month_investment": "1"}, "ytd_investment"),
        ({"ytd_investment": "1", "month_investment": "1"}, "period"),
        ({"period": "2020-04", "ytd_investment": "1", "month_investment": "1", "x": 1}, "x"),
        (
            {"period": "2020-04", "ytd_investment": "1", "month_investment": "1", "started": 0},
            "started",
        ),
    ],
)
async def test_a_malformed_report_is_422_on_the_field(registry, body, field):
    project = await create_project(registry)
    async with nothing_written(registry, project["id"]):
        r = await registry.client.post(
            f"/v1/projects/{project['id']}/reports", json=body, headers=COMMANDER
        )
    assert field in error_fields(problem(r, 422))


async def test_resubmitting_a_period_replaces_it(registry):
    project = await create_project(registry)
    assert (
        await _report(registry, project["id"], "2020-04", "300", "100", progress_note="基础施工")
    ).status_code == 201
    before = await outbox_count(registry)
    r = await _report(registry, project["id"], "2020-04", "320", "120", progress_note="主体施工")
    assert r.status_code == 201, r.text
    await one_new_event(
        registry, before, REPORT_SUBMITTED, await read_project(registry, project["id"])
    )
    progress = await _progress(registry, project["id"])
    assert [
        (x["period"], x["ytd_investment"], x["progress_note"]) for x in progress["reports"]
    ] == [("2020-04", "320", "主体施工")]
    assert progress["ytd_actual"] == "320"


@pytest.mark.parametrize("what", ["report", "plan"])
async def test_a_withdrawn_project_refuses_reports_and_plans(registry, what):
    project = await create_project(registry)
    assert (await move(registry, project["id"], "withdrawn", "2020-05-01")).status_code == 200
    async with nothing_written(registry, project["id"]):
        if what == "report":
            r = await _report(registry, project["id"], "2020-05", "10", "10")
        else:
            r = await _plan(registry, project["id"], 2020, "1200", {})
    assert "withdrawn" in problem(r, 409)["detail"]


# ---------------------------------------------------------------- progress
async def test_progress_arithmetic(registry):
    project = await create_project(registry)
    await _plan(registry, project["id"], 2020, "1200", {"4": "400", "12": "1200"})
    await _report(registry, project["id"], "2020-03", "200", "100")
    await _report(registry, project["id"], "2020-04", "300", "100")

    p = await _progress(registry, project["id"])
    assert p["project_id"] == project["id"]
    assert p["year"] == 2020
    assert p["as_of"] == "2020-04"  # the latest report
    assert p["annual_plan"] == "1200"
    assert p["ytd_actual"] == "300"
    assert p["completion_rate"] == "25.0"  # 300 / 1200
    assert p["time_elapsed"] == "33.3"  # 4 / 12
    assert p["lag_points"] == "-8.3"  # 25 − 33.3
    assert p["target_to_date"] == "400"
    assert p["plan_rate_to_date"] == "75.0"  # 300 / 400
    assert [r["period"] for r in p["reports"]] == ["2020-03", "2020-04"]

    march = await _progress(registry, project["id"], as_of="2020-03")
    assert march["as_of"] == "2020-03"
    assert march["ytd_actual"] == "200"
    assert march["completion_rate"] == "16.7"  # 16.66… rounded half up
    assert march["time_elapsed"] == "25.0"
    assert march["lag_points"] == "-8.3"
    assert march["target_to_date"] is None  # no target for March or before
    assert march["plan_rate_to_date"] is None

    june = await _progress(registry, project["id"], as_of="2020-06")
    assert june["ytd_actual"] == "300"  # the latest report up to June is April's
    assert june["time_elapsed"] == "50.0"
    assert june["lag_points"] == "-25.0"
    assert june["target_to_date"] == "400"


async def test_progress_rounds_half_up_to_one_decimal(registry):
    project = await create_project(registry)
    await _plan(registry, project["id"], 2020, "2000", {})
    await _report(registry, project["id"], "2020-01", "5", "5")  # 0.25 %
    p = await _progress(registry, project["id"])
    assert p["completion_rate"] == "0.3"
    assert p["time_elapsed"] == "8.3"
    assert p["lag_points"] == "-8.0"


async def test_progress_ahead_of_time_has_a_positive_lag(registry):
    project = await create_project(registry)
    await _plan(registry, project["id"], 2020, "1000", {})
    await _report(registry, project["id"], "2020-02", "600", "600")
    p = await _progress(registry, project["id"])
    assert (p["completion_rate"], p["time_elapsed"], p["lag_points"]) == ("60.0", "16.7", "43.3")


async def test_progress_without_a_plan_has_no_rate(registry):
    project = await create_project(registry)
    await _report(registry, project["id"], "2020-04", "300", "100")
    p = await _progress(registry, project["id"])
    assert p["annual_plan"] is None
    assert p["completion_rate"] is None
    assert p["lag_points"] is None
    assert p["time_elapsed"] == "33.3"
    assert p["ytd_actual"] == "300"


async def test_progress_of_a_past_year_without_reports_stands_at_december(registry):
    project = await create_project(registry)
    await _plan(registry, project["id"], 2019, "100", {})
    p = await _progress(registry, project["id"], year=2019)
    assert (p["as_of"], p["ytd_actual"], p["completion_rate"], p["time_elapsed"]) == (
        "2019-12",
        "0",
        "0.0",
        "100.0",
    )
    assert p["lag_points"] == "-100.0"


async def test_a_zero_plan_gives_no_rate(registry):
    project = await create_project(registry)
    await _plan(registry, project["id"], 2020, "0", {})
    await _report(registry, project["id"], "2020-04", "0", "0")
    p = await _progress(registry, project["id"])
    assert p["completion_rate"] is None
    assert p["lag_points"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "year"),
        ({"year": 1999}, "year"),
        ({"year": 2020, "as_of": "2020-4"}, "as_of"),
        ({"year": 2020, "as_of": "2020-13"}, "as_of"),
        ({"year": 2047, "as_of": "2094-97"}, "as_of"),
    ],
)
async def test_bad_progress_parameters_are_422(registry, params, field):
    project = await create_project(registry)
    r = await registry.client.get(
        f"/v1/projects/{project['id']}/progress", params=params, headers=COMMANDER
    )
    assert field in error_fields(problem(r, 422))


async def test_an_as_of_in_another_year_is_409(registry):
    """One parameter against another, which no schema states: 409."""
    project = await create_project(registry)
    r = await registry.client.get(
        f"/v1/projects/{project['id']}/progress",
        params={"year": 2020, "as_of": "2019-04"},
        headers=COMMANDER,
    )
    assert problem(r, 409)["errors"] == [{"field": "as_of", "message": "other year"}]
