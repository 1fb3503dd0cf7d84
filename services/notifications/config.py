"""Settings of the notifications service (`KUAICHE_NOTIFICATIONS_*`), and the Context its use
cases take: those settings resolved with the region table and the environment."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.regions import RegionTable, load_region_table


class NotificationsConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KUAICHE_NOTIFICATIONS_", extra="ignore")

    # Webhook and robot URLs to loopback or private addresses: refused in production, allowed
    # in development (the default of `kuaiche up`); "allow" or "refuse" overrides either.
    private_urls: Literal["auto", "allow", "refuse"] = "auto"
    # seconds between two runs of the reminder scan (blue deadlines, missing plans)
    reminder_scan_interval: float = Field(60.0, gt=0)
    # seconds the dispatcher waits when nothing is due
    dispatch_interval: float = Field(0.2, gt=0)
    # how many deliveries one dispatcher round claims, and how many go out at once
    dispatch_batch: int = Field(100, ge=1, le=10_000)
    dispatch_concurrency: int = Field(16, ge=1, le=512)
    # seconds a claimed delivery is held by its dispatcher; a dispatcher that died (kill -9)
    # lets it go after this, and another (or the restarted one) tries it again. A dispatcher
    # sends nothing whose lease would end before the try could: longer than `http_timeout`
    lease_seconds: float = Field(300.0, gt=0)
    # seconds one HTTP try may take (connect + answer)
    http_timeout: float = Field(10.0, gt=0, le=120)
    # a rotated webhook secret keeps signing beside the new one for this many hours
    rotation_overlap_hours: float = Field(24.0, ge=0, le=24 * 30)
    # the live stream: seconds between two looks at the feed, and days the feed is kept
    # (what `Last-Event-ID` and a replay can reach back to)
    stream_poll_interval: float = Field(0.5, gt=0)
    feed_retention_days: int = Field(30, ge=1, le=3660)
    # the console's address (https://kuaiche.example.gov.cn), put before the links in robot
    # messages: a DingTalk or WeCom group cannot open a path; empty leaves links as paths
    public_url: str = Field("", max_length=500, pattern=r"^(https?://[^\s]+[^/\s])?$")

    @model_validator(mode="after")
    def _lease_outlasts_a_try(self) -> NotificationsConfig:
        if self.lease_seconds <= self.http_timeout:
            raise ValueError(
                "KUAICHE_NOTIFICATIONS_LEASE_SECONDS must exceed KUAICHE_NOTIFICATIONS_HTTP_TIMEOUT:"
                " a try must end before another dispatcher may take the delivery"
            )
        return self


@functools.cache
def load_config() -> NotificationsConfig:
    """Read once, on first use (never at import)."""
    return NotificationsConfig()


def private_urls_allowed(config: NotificationsConfig, environment: str) -> bool:
    """Whether webhook and robot URLs may name loopback or private addresses."""
    if config.private_urls != "auto":
        return config.private_urls == "allow"
    return environment == "development"


@dataclass(frozen=True)
class Context:
    """What use cases need of the running service."""

    config: NotificationsConfig
    region: RegionTable
    allow_private_urls: bool
    # the rules of the version in force, parsed once (a new version replaces them)
    rules: dict[int, list[Any]] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, runtime: Any) -> Context:
        """The running service's context, built once per runtime (again if its settings are
        replaced): the API, the consumer and the worker's jobs share it and its parsed rules."""
        config: NotificationsConfig = runtime.config
        cached: Context | None = getattr(runtime, "_notifications_context", None)
        if cached is not None and cached.config is config:
            return cached
        built = cls(
            config=config,
            region=load_region_table(runtime.settings.regions_file),
            allow_private_urls=private_urls_allowed(config, runtime.settings.environment),
        )
        runtime._notifications_context = built
        return built

    def county_name(self, code: str | None) -> str | None:
        if code is None:
            return None
        division = self.region.find(code)
        return division.name if division else code
