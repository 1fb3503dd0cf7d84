"""Events the scoring service publishes on `kuaiche.scoring`, keyed by the period (`2020-04`)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.amounts import Amount

SOURCE = "kuaiche/scoring"


class RankedDivision(BaseModel):
    model_config = ConfigDict(frozen=True)

    county: str
    name: str
    score: Amount
    rank: int
    tier: str | None


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


EVENT_TYPES: dict[str, type[BaseModel]] = {model.TYPE: model for model in (RankingPublished,)}
