"""How a message leaves kuaiche: thin adapters on httpx, one per channel (Standard Webhooks for
downstream systems, DingTalk and WeCom group robots for people). Each returns an Attempt; none
raises for what the other side answered, so a failing channel never blocks another."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attempt:
    """What one try of one delivery gave."""

    ok: bool
    status: int | None  # the HTTP status, None when no answer came (refused, timed out)
    latency_ms: int
    error: str | None = None  # why it failed, for the deliveries list
    retry_after: float | None = None  # seconds the other side asked us to wait (Retry-After)
    gone: bool = False  # the endpoint says it is gone for good (HTTP 410): disable it
