"""An occasion: one thing that happened (or came due) which the rules may tell people about,
with the parties it concerns and the values its messages are written from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from services.notifications.domain.rules import Audience, Trigger


class RecipientKind(StrEnum):
    COMMANDER = "commander"  # the command office 市指挥部 (key: "commander")
    COUNTY = "county"  # a division, by its 6-digit code
    DEPARTMENT = "department"  # a responsible unit 责任单位, by name
    LEADER = "leader"  # a project's 帮包 leader, by name


COMMANDER_KEY = "commander"

Address = tuple[RecipientKind, str]  # (kind, key): whose inbox


@dataclass(frozen=True)
class Occasion:
    trigger: Trigger
    # what makes two occasions the same (an event id, or "<problem>:<deadline>" for a
    # reminder): with the rule and the recipient, the notification's dedupe key
    key: str
    county: str | None
    values: Mapping[str, Any]
    link: str | None
    event_id: str | None = None
    unit: str | None = None
    co_units: tuple[str, ...] = ()
    leader: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def addresses(
    occasion: Occasion, audience: Iterable[Audience], divisions: Iterable[str]
) -> list[Address]:
    """Whom `audience` names for this occasion, each once, in the audience's order."""
    found: list[Address] = []
    for who in audience:
        match who:
            case Audience.UNIT:
                named = [(RecipientKind.DEPARTMENT, occasion.unit)] if occasion.unit else []
            case Audience.CO_UNITS:
                named = [(RecipientKind.DEPARTMENT, u) for u in occasion.co_units]
            case Audience.COUNTY:
                named = [(RecipientKind.COUNTY, occasion.county)] if occasion.county else []
            case Audience.LEADER:
                named = [(RecipientKind.LEADER, occasion.leader)] if occasion.leader else []
            case Audience.COMMANDER:
                named = [(RecipientKind.COMMANDER, COMMANDER_KEY)]
            case Audience.EVERY_DIVISION:
                named = [(RecipientKind.COUNTY, code) for code in divisions]
        for address in named:
            if address not in found:
                found.append(address)
    return found


def dedupe_key(rule_id: str, occasion: Occasion, address: Address) -> str:
    kind, key = address
    return f"{rule_id}|{occasion.key}|{kind}|{key}"[:400]


def chinese_date(day: dt.date | None) -> str | None:
    """2020-09-28 → 2020年9月28日 (a deadline as a calendar date people read)."""
    if day is None:
        return None
    return f"{day.year}年{day.month}月{day.day}日"


def due_text(deadline: dt.date | None, plan_due: dt.date | None) -> str | None:
    """What the unit owes by when: a resolution by its deadline, or (a complex problem not yet
    planned) its plan."""
    if deadline is not None:
        return f"请于{chinese_date(deadline)}前办结"
    if plan_due is not None:
        return f"请于{chinese_date(plan_due)}前报送解决方案"
    return None


def robot_text(body: str, link: str | None, public_url: str) -> str:
    """A robot message's markdown: the body and a link to the item. No heading: the robot
    adapter sets the title above the text, and a digest shows each item's first line, which
    must be its body, not its title again."""
    return f"{body}\n\n[查看详情]({public_url}{link})" if link else body
