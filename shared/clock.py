"""The business date: reports, allocations and deadlines follow the calendar in China."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today_in_shanghai(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai (UTC+8) at the aware instant `now` (default: now)."""
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("today_in_shanghai needs a timezone-aware datetime")
    return now.astimezone(SHANGHAI).date()
