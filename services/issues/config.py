"""Settings of the issues service (`KUAICHE_ISSUES_*`): the working-day rules are configuration,
not code (DOMAIN.md: "every default is configuration")."""

from __future__ import annotations

import functools

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.calendar import MAX_WORKDAYS


class IssuesConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KUAICHE_ISSUES_", extra="ignore")

    # general problems: working days from the assignment (the count starts the next working day)
    min_working_days: int = Field(3, ge=1, le=MAX_WORKDAYS)
    max_working_days: int = Field(5, ge=1, le=MAX_WORKDAYS)
    default_working_days: int = Field(5, ge=1, le=MAX_WORKDAYS)
    # complex problems: the plan is due within this many working days
    plan_working_days: int = Field(2, ge=1, le=MAX_WORKDAYS)
    # an objection to an assignment is accepted within this many working days
    objection_working_days: int = Field(1, ge=1, le=MAX_WORKDAYS)
    # one extension adds at most this many working days
    max_extension_working_days: int = Field(10, ge=1, le=MAX_WORKDAYS)
    # blue 蓝色督办: this many working days or fewer left
    blue_working_days: int = Field(1, ge=0, le=MAX_WORKDAYS)
    # seconds between two runs of the worker's overdue scan
    overdue_scan_interval: float = Field(60.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> IssuesConfig:
        if not self.min_working_days <= self.default_working_days <= self.max_working_days:
            raise ValueError(
                "KUAICHE_ISSUES_DEFAULT_WORKING_DAYS must lie between the min and max working days"
            )
        return self


@functools.cache
def load_config() -> IssuesConfig:
    """Read once, on first use (never at import)."""
    return IssuesConfig()
