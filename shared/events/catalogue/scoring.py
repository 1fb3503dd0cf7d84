"""Events the scoring service publishes on `kuaiche.scoring`, keyed by the period (`2020-04`)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.amounts import Amount

SOURCE = "kuaiche/scoring"


class RankedDivision(BaseModel):
    model_config = ConfigDict(frozen=True)

    county: str
    name: str
    score: Amount
    rank: int
    tier: str | None


class ExposedProject(BaseModel):
    """One entry of a published exposure list (曝光): a project, or for `overdue` a problem of a
    project, named so a consumer can tell the project's county and its leader."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str = Field(
        description="the list: unstarted 未开工 | lagging 进度滞后 | overdue 问题超期"
    )
    project_id: str = Field(description="the registry's project id (for `overdue`: the problem's)")
    county: str = Field(description="the division code the entry is listed under (6 digits)")
    name: str | None = Field(
        description="the project's name; null only for an overdue problem whose project scoring "
        "has not learnt of"
    )
    issue_id: str | None = Field(
        description="`overdue` only: the overdue problem (the list names problems, so one project "
        "may appear once per problem); null on the project lists",
    )


class RankingPublished(BaseModel):
    """A period's ranking and exposure lists were published (通报) and frozen."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    TYPE: ClassVar[str] = "kuaiche.ranking.published.v1"

    publication_id: str
    year: int
    month: int
    scheme_version: str
    published_on: dt.date
    ranking: list[RankedDivision]
    exposed: dict[str, int]  # kind (unstarted | lagging | overdue) -> how many listed
    exposed_projects: list[ExposedProject] = Field(
        default=[],
        description="the entries of the exposure lists, red before yellow, then in the lists' "
        "order (kind, county, project); empty in events published before the field existed",
    )
    exposed_projects_truncated: bool = Field(
        default=False,
        description="true when `exposed_projects` was cut to keep the event within its size "
        "limit: `exposed` still counts every entry, the publication holds them all",
    )


EVENT_TYPES: dict[str, type[BaseModel]] = {model.TYPE: model for model in (RankingPublished,)}
