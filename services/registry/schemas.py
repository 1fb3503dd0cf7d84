"""API models of the registry: Create / Update / Public kept apart.

Amounts are Decimal and travel as JSON strings (万元 unless said otherwise).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from services.registry.domain.enums import Level, Stage, Track

# A decimal that is serialised as a string in JSON (never a float).
Amount = Annotated[Decimal, PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json")]
NonNegativeAmount = Annotated[
    Decimal,
    Field(ge=0, max_digits=18, decimal_places=4),
    PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json"),
]


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lng: Annotated[Decimal, Field(ge=-180, le=180)]
    lat: Annotated[Decimal, Field(ge=-90, le=90)]


class ProjectFields(BaseModel):
    """Fields a project has that a client may set (shared by create and import)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    county: Annotated[str, Field(pattern=r"^\d{6}$", description="6-digit division code; old codes resolve")]
    level: Level | None = None
    track: Track
    stage: Stage = Stage.PLANNING
    code: str | None = Field(None, description="national project code 项目代码")
    total_investment: NonNegativeAmount = Field(description="总投资, 万元")
    planned_start: dt.date | None = None
    planned_completion: dt.date | None = None
    owner: str | None = Field(None, max_length=200, description="项目单位")
    leader: str | None = Field(None, max_length=100, description="帮包领导")
    service_officer: str | None = Field(None, max_length=100, description="驻企服务员")
    responsible_unit: str | None = Field(None, max_length=200, description="责任单位")
    industry: str | None = Field(None, max_length=100)
    tags: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(default_factory=list)
    content: str | None = Field(None, max_length=4000, description="建设内容")
    location: Location | None = None

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(t.strip() for t in tags))


class ProjectCreate(ProjectFields):
    """POST /v1/projects. A project created as started/completed needs its dates."""

    actual_start: dt.date | None = None
    actual_completion: dt.date | None = None
