"""GET /v1/projects/summary: the projects the list's filters match, counted and their total
investment summed (万元, decimal strings) in all, on the key list, by level, by stage and by
county; scoped like the list (a county sees its own only, another county's is empty)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.api.registry.helpers import (
    BINCHENG,
    BOXING,
    ZOUPING,
    county_token,
    create_project,
    department_token,
    move,
    nothing_written,
    problem,
    unique_code,
    unique_name,
)
from tests.conftest import COMMANDER, VIEWER

LEVELS = [
    ("provincial_major_construction", "省重大建设类"),
    ("provincial_major_preparation", "省重大准备类"),
    ("provincial_preferred", "省优选"),
    ("investment_attraction", "双招双引"),
    ("city_key", "市重点"),
    ("city_infrastructure", "市城区基础设施"),
    ("county_key", "县重点"),
]
STAGES = [
    ("planning", "谋划"),
    ("reserve", "储备"),
    ("started", "开工"),
    ("completed", "竣工"),
    ("withdrawn", "退出"),
]
DIVISIONS = [
    ("371602", "滨城区"),
    ("371603", "沾化区"),
    ("371621", "惠民县"),
    ("371622", "阳信县"),
    ("371623", "无棣县"),
    ("371625", "博兴县"),
    ("371681", "邹平市"),
    ("371691", "滨州经济技术开发区"),
    ("371692", "滨州高新技术产业开发区"),
    ("371693", "北海经济开发区"),
]


async def summary(registry: Any, headers: dict[str, str] | None = None, **params: Any) -> Any:
    r = await registry.client.get(
        "/v1/projects/summary", params=params, headers=headers or COMMANDER
    )
    assert r.status_code == 200, r.text
    return r.json()


async def listed(registry: Any, headers: dict[str, str] | None = None, **params: Any) -> Any:
    r = await registry.client.get(
        "/v1/projects", params={"limit": 500, **params}, headers=headers or COMMANDER
    )
    assert r.status_code == 200, r.text
    return r.json()


def tallies(rows: list[dict[str, Any]], key: str) -> dict[str, tuple[int, str]]:
    return {r[key]: (r["projects"], r["total_investment"]) for r in rows}


async def four_projects(registry: Any) -> dict[str, dict[str, Any]]:
    """Bincheng: a city-key project started, a county-key one planned with a tag; Boxing: one
    off the list in reserve; Zouping: a provincial one withdrawn."""
    a = await create_project(
        registry,
        county=BINCHENG,
        level="city_key",
        total_investment="12000.5",
        stage="started",
        actual_start="2020-03-02",
        tags=["新基建"],
        code=unique_code(),
    )
    b = await create_project(
        registry,
        county=BINCHENG,
        level="county_key",
        total_investment="0.25",
        tags=["补短板"],
        name=unique_name("氢能"),
    )
    c = await create_project(
        registry, county=BOXING, level=None, total_investment="3000", stage="reserve", tags=[]
    )
    d = await create_project(
        registry,
        county=ZOUPING,
        level="provincial_major_construction",
        total_investment="99999999999.9999",
        tags=[],
    )
    assert (await move(registry, d["id"], "withdrawn", "2020-04-01", "不再实施")).status_code == 200
    return {"a": a, "b": b, "c": c, "d": d}


async def test_the_summary_counts_and_sums_by_level_stage_and_county(registry) -> None:
    await four_projects(registry)
    s = await summary(registry)
    assert s["projects"] == 4
    assert s["total_investment"] == "100000015000.7499"  # exact decimals, 万元
    assert s["key_projects"] == 3
    assert [(r["level"], r["label"]) for r in s["by_level"]] == LEVELS
    assert tallies(s["by_level"], "level") == {
        "provincial_major_construction": (1, "99999999999.9999"),
        "provincial_major_preparation": (0, "0"),
        "provincial_preferred": (0, "0"),
        "investment_attraction": (0, "0"),
        "city_key": (1, "12000.5"),
        "city_infrastructure": (0, "0"),
        "county_key": (1, "0.25"),
    }
    assert [(r["stage"], r["label"]) for r in s["by_stage"]] == STAGES
    assert tallies(s["by_stage"], "stage") == {
        "planning": (1, "0.25"),
        "reserve": (1, "3000"),
        "started": (1, "12000.5"),
        "completed": (0, "0"),
        "withdrawn": (1, "99999999999.9999"),
    }
    assert [(r["county"], r["name"]) for r in s["by_county"]] == DIVISIONS
    by_county = tallies(s["by_county"], "county")
    assert by_county[BINCHENG] == (2, "12000.75")
    assert by_county[BOXING] == (1, "3000")
    assert by_county[ZOUPING] == (1, "99999999999.9999")
    assert sum(n for n, _ in by_county.values()) == 4
    assert await summary(registry, VIEWER) == s  # a viewer reads everything too


async def test_the_summary_takes_every_filter_of_the_list(registry) -> None:
    p = await four_projects(registry)
    filters: list[dict[str, Any]] = [
        {"county": BINCHENG},
        {"county": "滨城区"},  # a name, as the list takes it
        {"county": "371626"},  # Zouping's old code
        {"level": "city_key"},
        {"key": "true"},
        {"key": "false"},
        {"stage": "withdrawn"},
        {"track": "implementation"},
        {"track": "preparation"},
        {"tag": "补短板"},
        {"tag": "补短板", "county": BOXING},
        {"q": "氢能"},
        {"q": p["a"]["code"][-6:].lower()},
        {"county": BINCHENG, "key": "true", "stage": "planning"},
    ]
    for params in filters:
        s, page = await summary(registry, **params), await listed(registry, **params)
        assert s["projects"] == page["total"], params
        total = sum((Decimal(i["total_investment"]) for i in page["items"]), Decimal(0))
        assert Decimal(s["total_investment"]) == total, params
        assert s["key_projects"] == sum(i["key"] for i in page["items"]), params
        assert sum(r["projects"] for r in s["by_stage"]) == page["total"], params
        assert sum(r["projects"] for r in s["by_county"]) == page["total"], params
    s = await summary(registry, county="滨城区")
    assert [r["county"] for r in s["by_county"]] == [BINCHENG]  # the filter's division only
    assert s["by_county"][0]["total_investment"] == "12000.75"
    s = await summary(registry, tag="补短板")
    assert (s["projects"], s["total_investment"], s["key_projects"]) == (1, "0.25", 1)
    assert len(s["by_county"]) == 10


async def test_a_county_sums_its_own_division_only(registry) -> None:
    await four_projects(registry)
    own = county_token(BINCHENG)
    s = await summary(registry, own)
    assert (s["projects"], s["total_investment"], s["key_projects"]) == (2, "12000.75", 2)
    assert s["by_county"] == [
        {"county": BINCHENG, "name": "滨城区", "projects": 2, "total_investment": "12000.75"}
    ]
    assert await summary(registry, own, county=BINCHENG) == s
    # another county's figures: nothing, as the list answers it (no 403, no disclosure)
    other = await summary(registry, own, county=ZOUPING)
    assert (await listed(registry, own, county=ZOUPING))["total"] == 0
    assert (other["projects"], other["total_investment"], other["key_projects"]) == (0, "0", 0)
    assert other["by_county"] == []
    assert all(r["projects"] == 0 for r in other["by_level"] + other["by_stage"])
    # a department reads the whole city, as it reads the list
    assert (await summary(registry, department_token()))["projects"] == 4


async def test_bad_filters_are_refused_as_the_list_refuses_them(registry) -> None:
    await create_project(registry)
    async with nothing_written(registry):
        body = problem(
            await registry.client.get(
                "/v1/projects/summary", params={"county": "999999"}, headers=COMMANDER
            ),
            409,
        )
        assert body["errors"][0]["field"] == "county"
        for params in (
            {"level": "mayor"},
            {"stage": "dreaming"},
            {"key": "maybe"},
            {"q": "x" * 101},
        ):
            problem(
                await registry.client.get("/v1/projects/summary", params=params, headers=COMMANDER),
                422,
            )
        problem(await registry.client.get("/v1/projects/summary"), 401)
