"""`kuaiche.ranking.published.v1` names the exposed projects (`exposed_projects`) within the
event's size limit: a province's month that lists more is cut, red entries first kept, and says
so; a message from before the field existed still reads."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from services.scoring.domain.exposure import Colour, ExposureKind
from services.scoring.schemas import ExposureItem
from services.scoring.service import EXPOSED_PROJECTS_BYTES, exposed_projects
from shared.events.catalogue import scoring as ev
from shared.events.envelope import MAX_EVENT_BYTES, CloudEvent

PROVINCE_DIVISIONS = 140  # Shandong has 136 county-level divisions


def item(
    kind: ExposureKind,
    colour: Colour = Colour.RED,
    *,
    name: str | None = "滨州市北海经济开发区年产20万吨高端铝材深加工项目",
    county: str = "371602",
) -> ExposureItem:
    overdue = kind == ExposureKind.OVERDUE
    return ExposureItem(
        kind=kind,
        colour=colour,
        county=county,
        county_name="滨城区",
        project_id=str(uuid.uuid4()),
        project_name=name,
        issue_id=str(uuid.uuid4()) if overdue else None,
        reason="计划2020-01开工，至2020-04末未开工，已逾期3个月",
        detail={"months_late": 3},
    )


def province_month(per_kind: int, name: str) -> dict[str, list[ExposureItem]]:
    """Lists as a publication holds them: by kind, red before yellow within each."""
    return {
        kind.value: [
            item(
                kind,
                Colour.RED if i < per_kind // 2 or kind == "overdue" else Colour.YELLOW,
                name=name,
            )
            for i in range(per_kind)
        ]
        for kind in ExposureKind
    }


def event_bytes(named: list[ev.ExposedProject], truncated: bool, exposed: dict[str, int]) -> int:
    """The size `record_event` measures against MAX_EVENT_BYTES, with a province's ranking."""
    payload = ev.RankingPublished(
        publication_id=str(uuid.uuid4()),
        year=2020,
        month=4,
        scheme_version="v" * 40,
        published_on=dt.date(2020, 5, 6),
        ranking=[
            ev.RankedDivision(
                county=f"37{n:04d}",
                name="经济技术开发区",
                score=Decimal("87.25"),
                rank=n,
                tier="一等",
            )
            for n in range(PROVINCE_DIVISIONS)
        ],
        exposed=exposed,
        exposed_projects=named,
        exposed_projects_truncated=truncated,
    )
    event = CloudEvent(
        source="kuaiche/scoring",
        type=payload.TYPE,
        subject=payload.publication_id,
        data=payload.model_dump(mode="json"),
        actor="指" * 200,
        sequence=1,
        partitionkey="2020-04",
    )
    return len(event.to_json())


def test_every_entry_is_named_when_they_fit() -> None:
    lists = {
        "unstarted": [item(ExposureKind.UNSTARTED, Colour.YELLOW)],
        "lagging": [item(ExposureKind.LAGGING), item(ExposureKind.LAGGING, Colour.YELLOW)],
        "overdue": [item(ExposureKind.OVERDUE, name=None)],
    }
    named, truncated = exposed_projects(lists)
    assert truncated is False
    red_lagging, yellow_lagging = lists["lagging"]
    [yellow_unstarted], [overdue] = lists["unstarted"], lists["overdue"]
    # red first, then the lists' order (unstarted, lagging, overdue)
    assert [(e.kind, e.project_id, e.issue_id) for e in named] == [
        ("lagging", red_lagging.project_id, None),
        ("overdue", overdue.project_id, overdue.issue_id),
        ("unstarted", yellow_unstarted.project_id, None),
        ("lagging", yellow_lagging.project_id, None),
    ]
    assert named[1].name is None  # an overdue problem whose project scoring has not learnt of
    assert named[0].name == red_lagging.project_name and named[0].county == "371602"


def test_a_province_month_is_cut_to_fit_the_event_keeping_red_entries_first() -> None:
    lists = province_month(1000, "项目" * 12)  # 3,000 entries with 24-character names
    exposed = {k: len(v) for k, v in lists.items()}
    named, truncated = exposed_projects(lists)
    assert truncated is True
    assert 900 < len(named) < 3000
    assert event_bytes(named, truncated, exposed) <= MAX_EVENT_BYTES
    assert all(e.issue_id is None or e.kind == "overdue" for e in named)
    reds = [i for items in lists.values() for i in items if i.colour == Colour.RED]
    assert [e.project_id for e in named] == [i.project_id for i in reds[: len(named)]]
    # cut where the next entry would pass the budget, not earlier
    spent = 2 + sum(len(e.model_dump_json().encode()) + 1 for e in named)
    assert spent <= EXPOSED_PROJECTS_BYTES < spent + 250


def test_names_at_the_registrys_limit_still_fit() -> None:
    lists = province_month(400, "滨" * 200)  # the registry's longest name
    named, truncated = exposed_projects(lists)
    assert truncated is True and len(named) > 250
    assert event_bytes(named, truncated, {k: len(v) for k, v in lists.items()}) <= MAX_EVENT_BYTES


def test_a_message_from_before_the_field_still_reads() -> None:
    old = {
        "publication_id": str(uuid.uuid4()),
        "year": 2020,
        "month": 3,
        "scheme_version": "default",
        "published_on": "2020-04-05",
        "ranking": [],
        "exposed": {"unstarted": 1, "lagging": 0, "overdue": 0},
    }
    data = ev.RankingPublished.model_validate(old)
    assert (data.exposed_projects, data.exposed_projects_truncated) == ([], False)
