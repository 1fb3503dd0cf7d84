"""Settings of the scoring service (`KUAICHE_SCORING_*`): the exposure thresholds are
configuration, not code (DOMAIN.md's defaults)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.scoring.domain.exposure import Thresholds


class ScoringConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KUAICHE_SCORING_", extra="ignore")

    # 未开工: red once this many months have passed since the planned start month (else yellow)
    unstarted_red_after_months: int = Field(3, ge=1, le=120)
    # 进度滞后: yellow from this many percentage points below 序时进度, red beyond the second
    lagging_yellow_points: Decimal = Field(Decimal(10), gt=0, le=100)
    lagging_red_points: Decimal = Field(Decimal(30), gt=0, le=100)
    # seconds between two checks of the worker for a rebuilt read model taking over
    epoch_check_interval: float = Field(2.0, gt=0)
    # seconds between two checks of the worker for kept standings to fill (a month that has
    # begun, periods a backlog's batches left out of date)
    standings_check_interval: float = Field(15.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> ScoringConfig:
        if self.lagging_yellow_points >= self.lagging_red_points:
            raise ValueError(
                "KUAICHE_SCORING_LAGGING_YELLOW_POINTS must be below KUAICHE_SCORING_LAGGING_RED_POINTS"
            )
        return self

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(
            unstarted_red_after_months=self.unstarted_red_after_months,
            lagging_yellow_points=self.lagging_yellow_points,
            lagging_red_points=self.lagging_red_points,
        )


def load_config() -> ScoringConfig:
    """The settings from the environment: read by the runtime once, when the service starts
    (`Runtime.config`); never at import."""
    return ScoringConfig()
