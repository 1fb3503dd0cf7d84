"""Settings of the factors service (`KUAICHE_FACTORS_*`): the city's policy figures are
configuration, not code (DOMAIN.md: "every default is configuration")."""

from __future__ import annotations

import functools
from decimal import Decimal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FactorsConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KUAICHE_FACTORS_", extra="ignore")

    # replacement ratio a new source gets unless it names its own: 倍量替代 (2:1) for the air
    # pollutants (SO2, NOx, particulates, VOCs) in this city, 1:1 for the water ones (COD, NH3-N)
    air_replacement_ratio: Decimal = Field(Decimal(2), ge=1, le=10)
    water_replacement_ratio: Decimal = Field(Decimal(1), ge=1, le=10)
    # seconds between two runs of the worker's scan that releases allocations unused past
    # their use-by date
    expiry_scan_interval: float = Field(3600.0, gt=0)


@functools.cache
def load_config() -> FactorsConfig:
    """Read once, on first use (never at import)."""
    return FactorsConfig()
