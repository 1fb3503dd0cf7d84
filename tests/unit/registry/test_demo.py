"""The Binzhou 2020 demo library: exact seed figures, determinism, consistent plans/reports."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from services.registry.demo import AS_OF, DemoProject, demo_library
from services.registry.domain.enums import Level, ListChangeKind, Stage, Track
from services.registry.domain.project_code import parse_project_code
from services.registry.schemas import ProjectCreate
from shared.regions import load_region_table

CODE = re.compile(r"^\d{4}-\d{6}-\d{2}-\d{2}-[0-9A-Z]{6}$")


@pytest.fixture(scope="module")
def library() -> list[DemoProject]:
    return demo_library()


def test_exact_totals(library: list[DemoProject]) -> None:
    assert len(library) == 1191
    total = sum((item.project.total_investment for item in library), Decimal(0))
    assert total == Decimal(78_440_000)  # 7,844 亿元 in 万元
    for item in library:
        amount = item.project.total_investment
        assert amount > 0
        assert amount == amount.quantize(Decimal("0.01"))


def test_level_mix(library: list[DemoProject]) -> None:
    levels = Counter(item.project.level for item in library)
    assert levels == {
        Level.PROVINCIAL_MAJOR_CONSTRUCTION: 10,
        Level.PROVINCIAL_MAJOR_PREPARATION: 3,
        Level.PROVINCIAL_PREFERRED: 6,
        Level.INVESTMENT_ATTRACTION: 4,
        Level.CITY_KEY: 52,
        Level.CITY_INFRASTRUCTURE: 6,
        Level.COUNTY_KEY: 352,
        None: 758,
    }
    assert sum(n for level, n in levels.items() if level is not None) == 433


def test_deterministic(library: list[DemoProject]) -> None:
    assert demo_library() == library


def test_every_project_is_a_valid_create(library: list[DemoProject]) -> None:
    for item in library:
        again = ProjectCreate.model_validate(item.project.model_dump())
        assert again == item.project
        p = item.project
        if p.planned_start and p.planned_completion:
            assert p.planned_completion >= p.planned_start
        if p.stage in (Stage.STARTED, Stage.COMPLETED):
            assert p.actual_start is not None and p.actual_start <= AS_OF
        else:
            assert p.actual_start is None and p.actual_completion is None
        if p.stage is Stage.COMPLETED:
            assert p.actual_completion is not None and p.actual_start <= p.actual_completion
        if p.location is not None:
            assert Decimal("117.3") <= p.location.lng <= Decimal("118.3")
            assert Decimal("36.8") <= p.location.lat <= Decimal("38.2")


def test_names_distinct(library: list[DemoProject]) -> None:
    names = [item.project.name for item in library]
    assert len(set(names)) == len(names)


def test_codes_match_the_pattern_and_are_unique(library: list[DemoProject]) -> None:
    codes = [item.project.code for item in library if item.project.code]
    assert len(codes) > 300
    assert len(set(codes)) == len(codes)
    serials = [code[-6:] for code in codes]
    assert len(set(serials)) == len(serials)
    for item in library:
        code = item.project.code
        if item.project.stage is Stage.PLANNING:
            assert code is None
        if code is None:
            continue
        assert CODE.match(code)
        parsed = parse_project_code(code)
        assert parsed.format == "old" and parsed.year in (2019, 2020)
        assert parsed.region == item.project.county


def test_every_division_has_every_broad_kind(library: list[DemoProject]) -> None:
    regions = load_region_table()
    for division in regions.divisions:
        mine = [i for i in library if i.project.county == division.code]
        assert mine, division.name
        assert any(i.project.level is not None for i in mine)
        assert any(i.project.level is None for i in mine)
        assert any(
            i.project.level
            in (
                Level.PROVINCIAL_MAJOR_CONSTRUCTION,
                Level.PROVINCIAL_MAJOR_PREPARATION,
                Level.PROVINCIAL_PREFERRED,
                Level.INVESTMENT_ATTRACTION,
            )
            for i in mine
        ), division.name
        assert {i.project.track for i in mine} == set(Track)
        stages = {i.project.stage for i in mine}
        assert {Stage.PLANNING, Stage.RESERVE, Stage.STARTED} <= stages
        assert any(i.stage_moves for i in mine)
        assert any(i.reports for i in mine)
    sizes = Counter(i.project.county for i in library)
    assert sizes["371681"] > sizes["371622"] > sizes["371693"]  # 邹平 > 阳信 > 北海


def test_stage_moves(library: list[DemoProject]) -> None:
    started_2020 = completed = 0
    for item in library:
        stage = item.project.stage
        start = item.project.actual_start
        for target, on in item.stage_moves:
            assert date(2020, 1, 1) <= on <= AS_OF
            if target is Stage.STARTED:
                assert stage in (Stage.PLANNING, Stage.RESERVE)
                start = on
                started_2020 += item.project.level is not None
            else:
                assert target is Stage.COMPLETED and stage is Stage.STARTED
                assert start is not None and on >= start
                completed += 1
            stage = target
    assert started_2020 >= 60
    assert 3 <= completed <= 30


def test_unstarted_projects_past_their_planned_start(library: list[DemoProject]) -> None:
    late = [
        i
        for i in library
        if i.project.level is not None
        and i.project.track is Track.IMPLEMENTATION
        and i.project.stage is Stage.RESERVE
        and not i.stage_moves
        and i.project.planned_start is not None
        and i.project.planned_start < date(2020, 4, 1)
    ]
    assert len(late) >= 5  # the 未开工 exposure list has content


def test_plans_end_at_the_annual_amount(library: list[DemoProject]) -> None:
    plans = [i.plan for i in library if i.plan is not None]
    assert len(plans) >= 300
    for plan in plans:
        assert plan.year == 2020
        assert plan.annual_investment > 0
        assert sorted(plan.monthly_targets) == list(range(1, 13))
        assert plan.monthly_targets[12] == plan.annual_investment
        values = [plan.monthly_targets[m] for m in range(1, 13)]
        assert values == sorted(values)
        assert all(v >= 0 for v in values)
    for item in library:
        if item.project.level is not None and item.project.track is Track.IMPLEMENTATION:
            assert item.plan is not None
            assert item.plan.annual_investment <= item.project.total_investment


def test_reports_cumulative_months_one_to_four(library: list[DemoProject]) -> None:
    reported = [i for i in library if i.reports]
    assert len(reported) >= 200
    for item in reported:
        assert item.plan is not None
        assert [r.period for r in item.reports] == ["2020-01", "2020-02", "2020-03", "2020-04"]
        previous, was_started = Decimal(0), False
        for report in item.reports:
            assert report.ytd_investment >= previous
            assert report.month_investment == report.ytd_investment - previous
            assert report.month_investment >= 0
            assert report.progress_note
            assert report.started or not was_started  # once started, stays started
            if not report.started:
                assert report.ytd_investment == 0
            previous, was_started = report.ytd_investment, report.started


def test_lag_spread_in_april(library: list[DemoProject]) -> None:
    time_elapsed = Decimal(4) / Decimal(12)
    bands: Counter[str] = Counter()
    for item in library:
        if item.plan is None or item.project.level is None:
            continue
        due = (
            item.stage_moves
            or item.project.stage is Stage.STARTED
            or (
                item.project.planned_start is not None
                and item.project.planned_start <= date(2020, 4, 30)
            )
        )
        if not item.reports:
            bands["no report"] += bool(due)
            continue
        lag = (item.reports[-1].ytd_investment / item.plan.annual_investment - time_elapsed) * 100
        bands[
            "ahead"
            if lag >= 0
            else "within 10"
            if lag > -10
            else "10-30"
            if lag >= -30
            else "over 30"
        ] += 1
    assert bands["ahead"] >= 10
    assert bands["10-30"] >= 50
    assert bands["10-30"] > bands["ahead"]
    assert bands["over 30"] >= 10
    assert bands["no report"] >= 5


def test_list_changes_keep_the_key_count(library: list[DemoProject]) -> None:
    changes = [(i, c) for i in library for c in i.list_changes]
    added = [i for i, c in changes if c.kind is ListChangeKind.ADDED]
    withdrawn = [i for i, c in changes if c.kind is ListChangeKind.WITHDRAWN]
    assert len(added) == len(withdrawn)
    assert all(i.project.level is None for i in added)
    assert all(i.project.level is not None for i in withdrawn)
    assert all(c.reason and c.effective_date <= AS_OF for _, c in changes)
