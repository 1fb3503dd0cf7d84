"""Bad input is a 422 problem naming the field, never a 500, and writes nothing: NUL
characters, zero, negative, float or over-precise amounts, years out of range, extra fields,
values out of their range."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.factors.helpers import (
    COMMANDER,
    Suite,
    allocation,
    demand,
    error_fields,
    factors_alone,
    nothing_written,
    ok_json,
    problem,
    source,
)

NUL = "must not contain NUL characters"
POOL = {"factor": "land", "year": 2020, "scope": "city", "amount": "100"}


@pytest.fixture
async def alone(tmp_path: Path) -> AsyncIterator[Suite]:
    """Factors without the registry or a worker (quick): for checks that need no project."""
    async with factors_alone(tmp_path) as suite:
        yield suite


async def _post(suite: Suite, path: str, body: Any) -> dict[str, Any]:
    async with nothing_written(suite):
        r = await suite.factors.post(path, json=body, headers=COMMANDER)
        return problem(r, 422)


# ---------------------------------------------------------------- NUL characters
async def test_nul_characters_are_refused_in_every_text_field(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    plant = await source(suite, "SO2")
    a = await allocation(suite, pool["id"], project, "1")
    d = ok_json(await demand(suite, project), 201)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/v1/pools", {**POOL, "year": 2031, "name": "a\x00b"}, "name"),
        (
            "/v1/allocations",
            {"pool_id": pool["id"], "project_id": project, "amount": "1", "note": "\x00"},
            "note",
        ),
        ("/v1/allocations", {"pool_id": "p\x00", "project_id": project, "amount": "1"}, "pool_id"),
        (
            "/v1/allocations",
            {"pool_id": pool["id"], "project_id": "\x00", "amount": "1"},
            "project_id",
        ),
        (f"/v1/allocations/{a['id']}/release", {"reason": "逾期\x00"}, "reason"),
        (
            "/v1/replacement-sources",
            {"pollutant": "SO2", "name": "\x00", "kind": "closed", "amount": "1"},
            "name",
        ),
        (
            "/v1/replacement-sources",
            {"pollutant": "SO2", "name": "x", "kind": "closed", "amount": "1", "note": "\x00"},
            "note",
        ),
        (
            "/v1/credit-demands",
            {"project_id": project, "amount": "1", "year": 2030, "purpose": "\x00"},
            "purpose",
        ),
        (f"/v1/credit-demands/{d['id']}/grants", {"bank": "银行\x00", "amount": "1"}, "bank"),
    ]
    for path, body, field in cases:
        err = await _post(suite, path, body)
        assert any(e["field"] == field and NUL in e["message"] for e in err["errors"]), (path, err)
    # a unit is one of a list (no text), so a NUL in it is simply not a unit
    err = await _post(suite, "/v1/pools", {**POOL, "year": 2031, "unit": "mu\x00"})
    assert error_fields(err) == {"unit"}
    assert plant["used"] == "0"


@pytest.mark.parametrize(
    "url",
    [
        "/v1/allocations?project_id=%00",
        "/v1/pools?factor=land%00",
        "/v1/pools/%00",
        "/v1/allocations/a%00b",
        "/v1/credit-demands?county=37160%00",
    ],
)
async def test_nul_characters_in_the_url_are_422(alone: Suite, url: str) -> None:
    problem(await alone.factors.get(url, headers=COMMANDER), 422)


# ---------------------------------------------------------------- amounts
BAD_AMOUNTS = [
    "0",
    "-1",
    "-0.0001",
    0,
    -5,
    1.123456789,
    "1.123456789",
    "abc",
    "NaN",
    "Infinity",
    "1e30",
    "",
    None,
    True,
]


async def test_bad_amounts_are_422_naming_the_amount(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(amount="100")
    d = ok_json(await demand(suite, project), 201)
    for amount in BAD_AMOUNTS:
        for path, body in (
            ("/v1/pools", {**POOL, "year": 2032, "amount": amount}),
            ("/v1/allocations", {"pool_id": pool["id"], "project_id": project, "amount": amount}),
            (
                "/v1/replacement-sources",
                {"pollutant": "COD", "name": "x", "kind": "closed", "amount": amount},
            ),
            ("/v1/credit-demands", {"project_id": project, "year": 2031, "amount": amount}),
            (f"/v1/credit-demands/{d['id']}/grants", {"bank": "x", "amount": amount}),
            (f"/v1/credit-demands/{d['id']}/disbursements", {"amount": amount}),
        ):
            err = await _post(suite, path, body)
            assert error_fields(err) == {"amount"}, (path, amount, err)
    # a ring-fence's amount too
    err = await _post(
        suite,
        "/v1/pools",
        {**POOL, "year": 2032, "ring_fences": [{"min_level": "city_key", "amount": "-1"}]},
    )
    assert error_fields(err) == {"ring_fences.0.amount"}


async def test_an_amount_is_a_decimal_string_read_exactly_and_a_json_number_is_refused(
    alone: Suite,
) -> None:
    pool = await alone.pool(amount="12.5")
    assert pool["amount"] == "12.5"
    pool = await alone.pool(amount="0.1", year=2021)
    assert pool["amount"] == "0.1"
    for number in (12.5, 100):  # a float would round; amounts travel as strings
        err = await _post(alone, "/v1/pools", {**POOL, "year": 2033, "amount": number})
        assert error_fields(err) == {"amount"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("year", 1989),
        ("year", 2101),
        ("year", "twenty"),
        ("advance_share", "0"),
        ("advance_share", "100.01"),
        ("advance_share", "33.333"),
        ("scope", "county"),
        ("factor", "funds"),
        ("name", ""),
        ("name", "x" * 201),
        ("unit", "x" * 21),
        ("ring_fences", [{"min_level": "city_key", "amount": "1"}] * 11),
    ],
)
async def test_pool_fields_out_of_range_are_422(alone: Suite, field: str, value: Any) -> None:
    err = await _post(alone, "/v1/pools", {**POOL, field: value})
    assert error_fields(err) and all(f.startswith(field) for f in error_fields(err)), err


async def test_allocation_fields_out_of_range_are_422(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool(factor="pollutant", pollutant="SO2")
    plant = await source(suite, "SO2")
    base = {"pool_id": pool["id"], "project_id": project, "amount": "1", "source_id": plant["id"]}
    for field, value in (
        ("ratio", "0.5"),
        ("ratio", "10.01"),
        ("ratio", "2.001"),
        ("advance", "perhaps"),
        ("note", ""),
        ("pool_id", "x" * 37),
        ("project_id", None),
    ):
        err = await _post(suite, "/v1/allocations", {**base, field: value})
        assert error_fields(err) == {field}, (field, value, err)


async def test_credit_fields_out_of_range_are_422(suite: Suite) -> None:
    project = await suite.project()
    d = ok_json(await demand(suite, project), 201)
    for body, field in (
        ({"project_id": project, "amount": "1", "year": 1989}, "year"),
        ({"project_id": project, "amount": "1", "year": 2101}, "year"),
        ({"project_id": project, "amount": "1", "purpose": ""}, "purpose"),
    ):
        assert error_fields(await _post(suite, "/v1/credit-demands", body)) == {field}
    grants = f"/v1/credit-demands/{d['id']}/grants"
    for body, field in (
        ({"bank": "x", "amount": "1", "date": "1989-12-31"}, "date"),
        ({"bank": "x", "amount": "1", "date": "2020-02-30"}, "date"),
        ({"bank": "", "amount": "1"}, "bank"),
    ):
        assert error_fields(await _post(suite, grants, body)) == {field}
    body = {"amount": "1", "date": "2101-01-01"}
    err = await _post(suite, f"/v1/credit-demands/{d['id']}/disbursements", body)
    assert error_fields(err) == {"date"}


async def test_a_release_needs_a_reason(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool()
    a = await allocation(suite, pool["id"], project, "1")
    for body in ({}, {"reason": ""}, {"reason": "x" * 2001}):
        err = await _post(suite, f"/v1/allocations/{a['id']}/release", body)
        assert error_fields(err) == {"reason"}
    assert (await suite.get_pool(pool["id"]))["allocated"] == "1"


# ---------------------------------------------------------------- extra fields, shapes
async def test_extra_fields_are_422_naming_them(suite: Suite) -> None:
    project = await suite.project()
    pool = await suite.pool()
    a = await allocation(suite, pool["id"], project, "1")
    d = ok_json(await demand(suite, project), 201)
    for path, body in (
        ("/v1/pools", {**POOL, "year": 2033, "allocated": "5"}),
        (
            "/v1/pools",
            {
                **POOL,
                "year": 2033,
                "ring_fences": [{"min_level": "city_key", "amount": "1", "allocated": "5"}],
            },
        ),
        (
            "/v1/allocations",
            {"pool_id": pool["id"], "project_id": project, "amount": "1", "allocated": "5"},
        ),
        (f"/v1/allocations/{a['id']}/release", {"reason": "x", "allocated": "5"}),
        (
            "/v1/replacement-sources",
            {"pollutant": "SO2", "name": "x", "kind": "closed", "amount": "1", "allocated": "5"},
        ),
        (
            "/v1/credit-demands",
            {"project_id": project, "amount": "1", "year": 2033, "allocated": "5"},
        ),
        (f"/v1/credit-demands/{d['id']}/grants", {"bank": "x", "amount": "1", "allocated": "5"}),
        (f"/v1/credit-demands/{d['id']}/disbursements", {"amount": "1", "allocated": "5"}),
    ):
        err = await _post(suite, path, body)
        assert {f.rsplit(".", 1)[-1] for f in error_fields(err)} == {"allocated"}, (path, err)


@pytest.mark.parametrize("content", [b"not json", b"[]", b'"x"', b"{"])
async def test_a_body_that_is_not_an_object_is_422(alone: Suite, content: bytes) -> None:
    async with nothing_written(alone):
        r = await alone.factors.post(
            "/v1/pools",
            content=content,
            headers={**COMMANDER, "content-type": "application/json"},
        )
        problem(r, 422)


async def test_an_empty_unit_is_refused_rather_than_read_as_the_canonical_one(
    alone: Suite,
) -> None:
    body = await _post(alone, "/v1/pools", {**POOL, "unit": ""})
    assert "unit" in error_fields(body)
