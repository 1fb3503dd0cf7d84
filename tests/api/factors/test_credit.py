"""Funds (资金): credit demands per project and year, grants (授信) never above the demand,
disbursements (放款) never above the credit granted, and the yearly summary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.auth import Role
from tests.api.factors.helpers import (
    COMMANDER,
    Suite,
    county_token,
    demand,
    disburse,
    error_fields,
    factors_alone,
    get_demand,
    grant,
    nothing_written,
    ok_json,
    problem,
)
from tests.api.registry.helpers import BINCHENG, BOXING, ZHANHUA, ZOUPING
from tests.conftest import VIEWER, token


@pytest.fixture
async def alone(tmp_path: Path) -> AsyncIterator[Suite]:
    """Factors without the registry or a worker (quick): for checks that need no project."""
    async with factors_alone(tmp_path) as suite:
        yield suite


async def _demand(suite: Suite, project: str, amount: str = "1000", **body: object) -> dict:
    r = await demand(suite, project, amount, **body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_demand_is_registered_with_its_figures(suite: Suite) -> None:
    project = await suite.project(county=ZOUPING)
    r = await demand(suite, project, "1.74", unit="yi_yuan", year=2020, purpose="设备购置")
    assert r.status_code == 201, r.text
    d = r.json()
    assert r.headers["location"] == f"/v1/credit-demands/{d['id']}"
    assert d["amount"] == "17400" and d["unit"] == "10k_yuan"
    assert d["county"] == ZOUPING and d["year"] == 2020 and d["purpose"] == "设备购置"
    assert d["granted"] == "0" and d["disbursed"] == "0"
    assert d["grants"] == [] and d["disbursements"] == []
    assert await get_demand(suite, d["id"]) == d


async def test_a_demand_without_a_year_is_for_this_year(suite: Suite) -> None:
    from shared.clock import today_in_shanghai

    project = await suite.project()
    assert (await _demand(suite, project))["year"] == today_in_shanghai().year


async def test_a_demand_in_yuan_must_be_exact_in_10k_yuan(suite: Suite) -> None:
    project = await suite.project()
    async with nothing_written(suite):
        r = await demand(suite, project, "0.00001")
        assert error_fields(problem(r, 422)) == {"amount"}
        r = await demand(suite, project, "1.5", unit="yuan")
        assert error_fields(problem(r, 422)) == {"amount"}
        r = await demand(suite, project, "1", unit="mu")
        assert error_fields(problem(r, 422)) == {"unit"}
    assert (await _demand(suite, project, "12345", unit="yuan"))["amount"] == "1.2345"


async def test_one_demand_per_project_and_year(suite: Suite) -> None:
    project = await suite.project()
    first = await _demand(suite, project, year=2020)
    async with nothing_written(suite):
        body = problem(await demand(suite, project, "5", year=2020), 409)
        assert body["existing"] == first["id"]
    await _demand(suite, project, year=2021)


async def test_a_demand_for_an_unknown_project_is_409(suite: Suite) -> None:
    async with nothing_written(suite):
        r = await demand(suite, "00000000-0000-0000-0000-000000000000")
        assert error_fields(problem(r, 409)) == {"project_id"}


# ---------------------------------------------------------------- who may demand
async def test_a_county_registers_demands_for_its_own_projects_only(suite: Suite) -> None:
    own = await suite.project(county=BINCHENG)
    d = ok_json(await demand(suite, own, headers=county_token(BINCHENG)), 201)
    assert d["county"] == BINCHENG
    other = await suite.project(county=ZHANHUA)
    async with nothing_written(suite):
        problem(await demand(suite, other, headers=county_token(BINCHENG)), 403)


async def test_viewers_and_departments_register_no_demand(suite: Suite) -> None:
    project = await suite.project()
    for who in (VIEWER, token(Role.DEPARTMENT, department="市金融办")):
        async with nothing_written(suite):
            problem(await demand(suite, project, headers=who), 403)


# ---------------------------------------------------------------- grants and disbursements
async def test_grants_never_exceed_the_demand(suite: Suite) -> None:
    project = await suite.project()
    d = await _demand(suite, project, "1000")
    r = await grant(suite, d["id"], "600", date="2020-05-01")
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == "600" and r.json()["granted_on"] == "2020-05-01"
    async with nothing_written(suite):
        body = problem(await grant(suite, d["id"], "400.0001"), 409)
        assert body["remaining"] == "400"
    assert (await grant(suite, d["id"], "0.04", unit="yi_yuan")).status_code == 201
    got = await get_demand(suite, d["id"])
    assert got["granted"] == "1000" and [g["amount"] for g in got["grants"]] == ["600", "400"]
    async with nothing_written(suite):
        assert problem(await grant(suite, d["id"], "0.0001"), 409)["remaining"] == "0"


async def test_disbursements_never_exceed_the_credit_granted(suite: Suite) -> None:
    project = await suite.project()
    d = await _demand(suite, project, "1000")
    async with nothing_written(suite):
        assert problem(await disburse(suite, d["id"], "1"), 409)["remaining"] == "0"
    await grant(suite, d["id"], "500")
    r = await disburse(suite, d["id"], "300", date="2020-06-01")
    assert r.status_code == 201, r.text
    assert r.json()["disbursed_on"] == "2020-06-01"
    async with nothing_written(suite):
        assert problem(await disburse(suite, d["id"], "200.0001"), 409)["remaining"] == "200"
    assert (await disburse(suite, d["id"], "2000000", unit="yuan")).status_code == 201
    got = await get_demand(suite, d["id"])
    assert got["disbursed"] == "500" and len(got["disbursements"]) == 2


async def test_grants_and_disbursements_of_an_unknown_demand_are_404(suite: Suite) -> None:
    problem(await grant(suite, "nope", "1"), 404)
    problem(await disburse(suite, "nope", "1"), 404)
    problem(await suite.factors.get("/v1/credit-demands/nope", headers=COMMANDER), 404)


async def test_only_the_command_office_records_bank_credit(suite: Suite) -> None:
    project = await suite.project(county=BINCHENG)
    d = await _demand(suite, project)
    await grant(suite, d["id"], "10")
    for who in (county_token(BINCHENG), VIEWER, token(Role.DEPARTMENT, department="市金融办")):
        async with nothing_written(suite):
            r = await suite.factors.post(
                f"/v1/credit-demands/{d['id']}/grants",
                json={"bank": "某银行", "amount": "1"},
                headers=who,
            )
            problem(r, 403)
            r = await suite.factors.post(
                f"/v1/credit-demands/{d['id']}/disbursements", json={"amount": "1"}, headers=who
            )
            problem(r, 403)


# ---------------------------------------------------------------- summary and lists
async def test_the_credit_summary_of_a_year_totals_by_county(suite: Suite) -> None:
    b1 = await suite.project(county=BINCHENG)
    b2 = await suite.project(county=BINCHENG)
    z1 = await suite.project(county=ZHANHUA)
    d1 = await _demand(suite, b1, "1000", year=2020)
    d2 = await _demand(suite, b2, "500.5", year=2020)
    d3 = await _demand(suite, z1, "2", unit="yi_yuan", year=2020)
    await _demand(suite, b1, "999", year=2021)  # another year
    await grant(suite, d1["id"], "800")
    await grant(suite, d2["id"], "500.5")
    await grant(suite, d3["id"], "15000")
    await disburse(suite, d1["id"], "100")
    await disburse(suite, d3["id"], "15000")

    r = await suite.factors.get("/v1/credit/summary", params={"year": 2020}, headers=VIEWER)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "year": 2020,
        "unit": "10k_yuan",
        "projects": 3,
        "demanded": "21500.5",
        "granted": "16300.5",
        "disbursed": "15100",
        "counties": [
            {
                "county": BINCHENG,
                "projects": 2,
                "demanded": "1500.5",
                "granted": "1300.5",
                "disbursed": "100",
            },
            {
                "county": ZHANHUA,
                "projects": 1,
                "demanded": "20000",
                "granted": "15000",
                "disbursed": "15000",
            },
        ],
    }
    r = await suite.factors.get("/v1/credit/summary", params={"year": 2019}, headers=VIEWER)
    assert r.json()["projects"] == 0 and r.json()["demanded"] == "0" and r.json()["counties"] == []

    # a county sees its own county's row and totals only
    r = await suite.factors.get(
        "/v1/credit/summary", params={"year": 2020}, headers=county_token(ZHANHUA)
    )
    assert r.json()["projects"] == 1 and [c["county"] for c in r.json()["counties"]] == [ZHANHUA]


@pytest.mark.parametrize("params", [{}, {"year": "1989"}, {"year": "2101"}, {"year": "x"}])
async def test_the_credit_summary_needs_a_year_in_range(alone: Suite, params: dict) -> None:
    r = await alone.factors.get("/v1/credit/summary", params=params, headers=VIEWER)
    assert error_fields(problem(r, 422)) == {"year"}


async def test_demands_are_listed_with_filters_and_a_county_sees_its_own(suite: Suite) -> None:
    b = await suite.project(county=BINCHENG)
    z = await suite.project(county=ZHANHUA)
    db = await _demand(suite, b, year=2020)
    dz = await _demand(suite, z, year=2021)

    async def ids(headers: dict[str, str] = COMMANDER, **params: object) -> list[str]:
        r = await suite.factors.get("/v1/credit-demands", params=params, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["items"])
        return [d["id"] for d in r.json()["items"]]

    assert await ids() == [db["id"], dz["id"]]
    assert await ids(project_id=z) == [dz["id"]]
    assert await ids(county=BINCHENG) == [db["id"]]
    assert await ids(year=2021) == [dz["id"]]
    assert await ids(VIEWER) == [db["id"], dz["id"]]
    assert await ids(county_token(BINCHENG)) == [db["id"]]
    assert await ids(county_token(BINCHENG), county=ZHANHUA) == []
    assert await ids(county_token(BOXING)) == []
    r = await suite.factors.get(f"/v1/credit-demands/{dz['id']}", headers=county_token(BINCHENG))
    problem(r, 404)
    r = await suite.factors.get(f"/v1/credit-demands/{dz['id']}", headers=county_token(ZHANHUA))
    assert r.status_code == 200


async def test_who_may_not_demand_is_told_so_before_anything_else(suite: Suite) -> None:
    # a viewer learns nothing about projects or their demands from a write it may not make
    # (the body's shape is the schema's: a malformed one is 422 for anyone)
    project = await suite.project()
    await _demand(suite, project, year=2030)  # a second one for 2030 breaks a rule (409)
    for who in (VIEWER, token(Role.DEPARTMENT, department="市金融办")):
        async with nothing_written(suite):
            problem(await demand(suite, "00000000-0000-0000-0000-000000000000", headers=who), 403)
            problem(await demand(suite, "x", "1", unit="yuan", headers=who), 403)
            problem(await demand(suite, project, year=2030, headers=who), 403)
    problem(await demand(suite, project, year=2030), 409)


async def test_another_countys_project_is_403_whatever_its_state(suite: Suite) -> None:
    from tests.api.factors.helpers import withdraw

    other = await suite.project(county=ZHANHUA)
    await withdraw(suite, other)
    async with nothing_written(suite):
        problem(await demand(suite, other, headers=county_token(BINCHENG)), 403)
        problem(await demand(suite, other, headers=county_token(ZHANHUA)), 409)
