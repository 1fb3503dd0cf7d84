"""Who is told what: the rules are data (a versioned set the command office replaces), each a
trigger, an audience, the channels and a Chinese message template.

A trigger is an occasion the service recognises: an event from another service (a problem
assigned 交办, a month published 通报, a factor allocated) or a moment the worker's scan finds on
the working-day calendar (one working day before a deadline, a plan that did not come). Each
trigger offers the fields its template may use; a template naming any other field is refused
when the rules are replaced, never when a message is due.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictBool, model_validator

from shared.amounts import decimal_string
from shared.fields import InputModel, required_text, rule_error


class Trigger(StrEnum):
    ISSUE_ASSIGNED = "issue.assigned"  # 交办 (kuaiche.issue.assigned.v1)
    ISSUE_DUE_SOON = "issue.due_soon"  # 蓝色督办: the scan, N working days before the deadline
    ISSUE_OVERDUE = "issue.overdue"  # 红色督办 (kuaiche.issue.overdue.v1)
    ISSUE_RESOLVED = "issue.resolved"  # 办结 (kuaiche.issue.resolved.v1): feedback is asked
    ISSUE_PLAN_MISSING = "issue.plan_missing"  # the scan: a complex problem's plan is late
    RANKING_PUBLISHED = "ranking.published"  # 通报 (kuaiche.ranking.published.v1)
    PROJECT_EXPOSED = "project.exposed"  # each project on a published exposure list
    FACTOR_ALLOCATED = "factor.allocated"  # kuaiche.factor.allocated.v1
    FACTOR_RELEASED = "factor.released"  # kuaiche.factor.released.v1
    POOL_NEARLY_FULL = "pool.nearly_full"  # a quota pool passes the rule's threshold
    SUBSCRIPTION_DISABLED = "subscription.disabled"  # a webhook endpoint was switched off


class Audience(StrEnum):
    UNIT = "unit"  # the problem's responsible unit 责任单位
    CO_UNITS = "co_units"  # its co-units 配合单位
    COUNTY = "county"  # the county of the project (or problem, allocation)
    LEADER = "leader"  # the project's 帮包 leader
    COMMANDER = "commander"  # the command office 市指挥部
    EVERY_DIVISION = "every_division"  # every division of the region table


class ChannelType(StrEnum):
    INBOX = "inbox"
    DINGTALK = "dingtalk"
    WECOM = "wecom"


ROBOT_CHANNELS = frozenset({ChannelType.DINGTALK, ChannelType.WECOM})

_ISSUE_FIELDS = frozenset(
    {"project", "county", "unit", "co_units", "deadline", "plan_due", "due", "title", "leader"}
)
_FACTOR_FIELDS = frozenset({"project", "county", "factor", "amount", "unit_of_measure", "year"})

FIELDS: dict[Trigger, frozenset[str]] = {
    Trigger.ISSUE_ASSIGNED: _ISSUE_FIELDS,
    Trigger.ISSUE_DUE_SOON: _ISSUE_FIELDS | {"working_days"},
    Trigger.ISSUE_OVERDUE: _ISSUE_FIELDS,
    Trigger.ISSUE_RESOLVED: _ISSUE_FIELDS,
    Trigger.ISSUE_PLAN_MISSING: _ISSUE_FIELDS,
    Trigger.RANKING_PUBLISHED: frozenset(
        {"period", "first", "last", "unstarted", "lagging", "overdue"}
    ),
    Trigger.PROJECT_EXPOSED: frozenset({"project", "county", "period", "list", "leader"}),
    Trigger.FACTOR_ALLOCATED: _FACTOR_FIELDS,
    Trigger.FACTOR_RELEASED: _FACTOR_FIELDS | {"reason"},
    Trigger.POOL_NEARLY_FULL: frozenset(
        {"factor", "year", "utilisation", "threshold", "amount", "allocated", "unit_of_measure"}
    ),
    Trigger.SUBSCRIPTION_DISABLED: frozenset({"url", "reason"}),
}
"""The template fields each trigger fills (every one also has `link`)."""

AUDIENCES: dict[Trigger, frozenset[Audience]] = {
    **{
        t: frozenset(Audience)
        for t in (
            Trigger.ISSUE_ASSIGNED,
            Trigger.ISSUE_DUE_SOON,
            Trigger.ISSUE_OVERDUE,
            Trigger.ISSUE_RESOLVED,
            Trigger.ISSUE_PLAN_MISSING,
        )
    },
    Trigger.RANKING_PUBLISHED: frozenset({Audience.EVERY_DIVISION, Audience.COMMANDER}),
    Trigger.PROJECT_EXPOSED: frozenset({Audience.COUNTY, Audience.LEADER, Audience.COMMANDER}),
    Trigger.FACTOR_ALLOCATED: frozenset(
        {Audience.COUNTY, Audience.LEADER, Audience.COMMANDER, Audience.EVERY_DIVISION}
    ),
    Trigger.FACTOR_RELEASED: frozenset(
        {Audience.COUNTY, Audience.LEADER, Audience.COMMANDER, Audience.EVERY_DIVISION}
    ),
    Trigger.POOL_NEARLY_FULL: frozenset({Audience.COMMANDER, Audience.EVERY_DIVISION}),
    Trigger.SUBSCRIPTION_DISABLED: frozenset({Audience.COMMANDER}),
}
"""Whom each trigger can name: a pool has no unit, a publication no leader."""

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"
THRESHOLD_PATTERN = r"^(100(\.0)?|[1-9]\d?(\.\d)?|0\.[1-9])$"
MAX_RULES = 100


class Rule(InputModel):
    """One rule: on `trigger`, tell `audience` through `channels` with this message."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=RULE_ID_PATTERN, examples=["issue-assigned"])]
    trigger: Trigger
    audience: Annotated[list[Audience], Field(min_length=1, max_length=len(Audience))]
    channels: Annotated[list[ChannelType], Field(min_length=1, max_length=len(ChannelType))]
    title: Annotated[str, *required_text(200)]
    body: Annotated[str, *required_text(2000)]
    enabled: StrictBool = True
    working_days: Annotated[
        int | None,
        Field(ge=1, le=10, description="issue.due_soon: remind this many working days ahead"),
    ] = None
    threshold: Annotated[
        Annotated[Decimal, *decimal_string(THRESHOLD_PATTERN, "90", "a percentage, 0.1–100")]
        | None,
        Field(description="pool.nearly_full: the utilisation (percent) whose passing is told"),
    ] = None

    @model_validator(mode="after")
    def _coherent(self) -> Rule:
        allowed = AUDIENCES[self.trigger]
        stray = [a for a in self.audience if a not in allowed]
        if stray:
            raise rule_error(
                f"rule {self.id}: {self.trigger} cannot name {', '.join(stray)}; "
                f"it names {', '.join(sorted(allowed))}"
            )
        for name, text in (("title", self.title), ("body", self.body)):
            unknown = sorted(template_fields(text) - FIELDS[self.trigger] - {"link"})
            if unknown:
                raise rule_error(
                    f"rule {self.id}: the {name} names unknown field(s) "
                    f"{', '.join(unknown)}; {self.trigger} offers "
                    f"{', '.join(sorted(FIELDS[self.trigger] | {'link'}))}"
                )
        if (self.working_days is None) != (self.trigger is not Trigger.ISSUE_DUE_SOON):
            raise rule_error(
                f"rule {self.id}: working_days is for {Trigger.ISSUE_DUE_SOON} only (and required there)"
            )
        if (self.threshold is None) != (self.trigger is not Trigger.POOL_NEARLY_FULL):
            raise rule_error(
                f"rule {self.id}: threshold is for {Trigger.POOL_NEARLY_FULL} only (and required there)"
            )
        if len(set(self.audience)) != len(self.audience) or len(set(self.channels)) != len(
            self.channels
        ):
            raise rule_error(f"rule {self.id}: an audience or channel is listed twice")
        return self


class RuleSetInput(InputModel):
    """The whole set of rules, replacing the one in force."""

    model_config = ConfigDict(extra="forbid")

    rules: Annotated[list[Rule], Field(max_length=MAX_RULES)]

    @model_validator(mode="after")
    def _distinct(self) -> RuleSetInput:
        ids = [r.id for r in self.rules]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise rule_error(f"rule ids must be distinct: {', '.join(twice)} repeated")
        return self


def template_fields(template: str) -> set[str]:
    """The field names a template uses; a format spec or an attribute or index access
    (`{a.b}`, `{a[0]}`, `{a!r}`, `{a:>9}`) is refused as unknown, so a template cannot reach
    into an object."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise rule_error(f"a template is malformed: {exc}") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            names.add(
                field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            )
        else:
            names.add(field)
    return names


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill a template from the trigger's values (a missing value reads as 无)."""
    filled = {name: _text(values.get(name)) for name in template_fields(template)}
    return template.format_map(filled)


def _text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "无"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


def rules_for(rules: Sequence[Rule], trigger: Trigger) -> list[Rule]:
    return [r for r in rules if r.enabled and r.trigger is trigger]


def _rule(**kwargs: Any) -> Rule:
    return Rule.model_validate(kwargs)


DEFAULT_RULES: tuple[Rule, ...] = (
    _rule(
        id="issue-assigned",
        trigger=Trigger.ISSUE_ASSIGNED,
        audience=[Audience.UNIT, Audience.CO_UNITS],
        channels=[ChannelType.INBOX, ChannelType.DINGTALK, ChannelType.WECOM],
        title="【交办】{project}：{title}",
        body="{county}{project}的问题“{title}”已交办{unit}（配合单位：{co_units}），{due}。",
    ),
    _rule(
        id="issue-due-soon",
        trigger=Trigger.ISSUE_DUE_SOON,
        audience=[Audience.UNIT],
        channels=[ChannelType.INBOX, ChannelType.DINGTALK, ChannelType.WECOM],
        title="【蓝色督办】{project}：{title}",
        body="{county}{project}的问题“{title}”由{unit}办理，办结期限{deadline}，"
        "仅剩{working_days}个工作日，请抓紧办结。",
        working_days=1,
    ),
    _rule(
        id="issue-overdue",
        trigger=Trigger.ISSUE_OVERDUE,
        audience=[Audience.UNIT, Audience.COUNTY, Audience.COMMANDER],
        channels=[ChannelType.INBOX, ChannelType.DINGTALK, ChannelType.WECOM],
        title="【红色督办】{project}：{title}",
        body="{county}{project}的问题“{title}”已超过办结期限{deadline}，责任单位{unit}，"
        "将列入超期问题通报。",
    ),
    _rule(
        id="issue-resolved",
        trigger=Trigger.ISSUE_RESOLVED,
        audience=[Audience.COUNTY],
        channels=[ChannelType.INBOX, ChannelType.DINGTALK, ChannelType.WECOM],
        title="【请反馈】{project}：{title}",
        body="{unit}已办结{project}的问题“{title}”，请{county}核实并反馈办理效果。",
    ),
    _rule(
        id="issue-plan-missing",
        trigger=Trigger.ISSUE_PLAN_MISSING,
        audience=[Audience.UNIT],
        channels=[ChannelType.INBOX, ChannelType.DINGTALK, ChannelType.WECOM],
        title="【方案逾期】{project}：{title}",
        body="{county}{project}的复杂问题“{title}”应于{plan_due}前报送解决方案，"
        "{unit}尚未报送，请立即报送。",
    ),
    _rule(
        id="ranking-published",
        trigger=Trigger.RANKING_PUBLISHED,
        audience=[Audience.EVERY_DIVISION, Audience.COMMANDER],
        channels=[ChannelType.INBOX, ChannelType.DINGTALK, ChannelType.WECOM],
        title="【通报】{period}县区考核排名已发布",
        body="{period}排名已发布，第一名{first}，最后一名{last}；通报未开工项目{unstarted}个、"
        "进度滞后项目{lagging}个、超期问题{overdue}个。",
    ),
    _rule(
        id="project-exposed",
        trigger=Trigger.PROJECT_EXPOSED,
        audience=[Audience.COUNTY, Audience.LEADER],
        channels=[ChannelType.INBOX, ChannelType.DINGTALK, ChannelType.WECOM],
        title="【通报】{project}列入{list}",
        body="{period}通报：{county}{project}列入{list}，帮包领导{leader}，请督促整改。",
    ),
    _rule(
        id="factor-allocated",
        trigger=Trigger.FACTOR_ALLOCATED,
        audience=[Audience.COUNTY],
        channels=[ChannelType.INBOX],
        title="【要素保障】{project}获配{factor}",
        body="{county}{project}获配{year}年{factor}{amount}{unit_of_measure}。",
    ),
    _rule(
        id="factor-released",
        trigger=Trigger.FACTOR_RELEASED,
        audience=[Audience.COUNTY],
        channels=[ChannelType.INBOX],
        title="【要素收回】{project}释放{factor}",
        body="{county}{project}的{year}年{factor}{amount}{unit_of_measure}已释放：{reason}。",
    ),
    _rule(
        id="pool-nearly-full",
        trigger=Trigger.POOL_NEARLY_FULL,
        audience=[Audience.COMMANDER],
        channels=[ChannelType.INBOX, ChannelType.DINGTALK, ChannelType.WECOM],
        title="【要素预警】{year}年{factor}使用率已达{utilisation}%",
        body="{year}年{factor}指标{amount}{unit_of_measure}，已配置{allocated}{unit_of_measure}，"
        "使用率{utilisation}%，超过{threshold}%预警线。",
        threshold=Decimal(90),
    ),
    _rule(
        id="subscription-disabled",
        trigger=Trigger.SUBSCRIPTION_DISABLED,
        audience=[Audience.COMMANDER],
        channels=[ChannelType.INBOX],
        title="【推送停用】{url}",
        body="下游订阅地址{url}已停用：{reason}。修复后可在订阅管理中重新启用。",
    ),
)
