"""The group robots' rate limit (钉钉 and 企业微信 both take 20 messages a minute per robot) and the
digest that keeps a burst within it: nothing is dropped and nothing waits behind the limit longer
than it must. Pure: the caller says what this robot sent lately and what is due."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

ROBOT_LIMIT = 20
WINDOW = dt.timedelta(minutes=1)

# WeCom refuses a markdown content over 4096 bytes of UTF-8. The channel adapter puts the title
# as a heading above the text, so a digest keeps HEADING_ROOM bytes free for it.
MESSAGE_MAX_BYTES = 4096
HEADING_ROOM = 256
DIGEST_TEXT_MAX_BYTES = MESSAGE_MAX_BYTES - HEADING_ROOM

ITEM_TITLE_MAX_CHARS = 60
ITEM_BODY_MAX_CHARS = 80


@dataclass(frozen=True)
class RobotPlan(Generic[T]):
    """What to do now with one robot's due messages."""

    singles: list[T] = field(default_factory=list)  # send each as its own message, in order
    digest: list[T] = field(default_factory=list)  # merge into ONE message (empty: none)
    wait_until: dt.datetime | None = None  # nothing can go before this (the window is full)


def sends_in_window(recent: Sequence[dt.datetime], now: dt.datetime) -> list[dt.datetime]:
    """The sends that still count against the limit at `now`: those less than WINDOW ago. A send
    exactly WINDOW ago no longer counts, so `oldest + WINDOW` is the first moment with room."""
    return sorted(t for t in recent if dt.timedelta(0) <= now - t < WINDOW)


def plan_robot_sends(
    recent: Sequence[dt.datetime], pending: Sequence[T], now: dt.datetime
) -> RobotPlan[T]:
    """Split `pending` (oldest first) into what goes singly and what goes as one digest, so that
    with `recent` (this robot's send times) the robot never sends more than ROBOT_LIMIT messages
    in any WINDOW. With no room at all, nothing goes and `wait_until` says when room opens."""
    if not pending:
        return RobotPlan()
    counted = sends_in_window(recent, now)
    capacity = max(0, ROBOT_LIMIT - len(counted))
    if len(pending) <= capacity:
        return RobotPlan(singles=list(pending))
    if capacity >= 1:
        # One slot is kept for the digest, which carries everything the singles could not.
        return RobotPlan(
            singles=list(pending[: capacity - 1]), digest=list(pending[capacity - 1 :])
        )
    return RobotPlan(wait_until=counted[0] + WINDOW)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(body: str) -> str:
    for line in body.splitlines():
        stripped = line.strip().lstrip("#>*- ").strip()
        if stripped:
            return stripped
    return ""


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def digest_title(count: int) -> str:
    return f"快车道通知汇总（{count} 条）"


def digest_message(items: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """One markdown message for many (title, body) notifications: each item's title in bold and
    the first line of its body, as many as fit in DIGEST_TEXT_MAX_BYTES, then a line saying how
    many more there are. Returns (title, text)."""
    title = digest_title(len(items))
    intro = f"每个群机器人每分钟最多发送 {ROBOT_LIMIT} 条消息，以下 {len(items)} 条通知合并发送："
    parts = [intro]
    used = _size(intro)
    for shown, (item_title, body) in enumerate(items):
        line = f"{shown + 1}. **{_clip(item_title, ITEM_TITLE_MAX_CHARS)}**"
        summary = _clip(_first_line(body), ITEM_BODY_MAX_CHARS)
        if summary:
            line += f"  \n{summary}"
        left = len(items) - shown - 1
        # Room for this line, and for the "more" line if anything after it might not fit.
        tail = _size("\n\n" + more_line(left)) if left else 0
        if used + _size("\n\n" + line) + tail > DIGEST_TEXT_MAX_BYTES:
            parts.append(more_line(len(items) - shown))
            break
        parts.append(line)
        used += _size("\n\n" + line)
    return title, "\n\n".join(parts)


def more_line(count: int) -> str:
    return f"……另有 {count} 条，请登录快车道查看"
