"""API models of the notifications service: inputs (InputModel: no NUL, extra fields refused)
and the public shapes. The rules' own model is the domain's (`domain.rules.Rule`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, model_validator

from services.notifications.domain.occasions import RecipientKind
from services.notifications.domain.rules import Rule
from shared.events.catalogue import EVENT_TYPES
from shared.fields import NOT_SPACE, InputModel, required_text, rule_error

Text200 = Annotated[str, *required_text(200)]
Url = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2000,
        pattern=rf"^https?://{NOT_SPACE}+$",
        examples=["https://hooks.example.gov.cn/kuaiche"],
    ),
]
CountyCode = Annotated[str, Field(pattern=r"^\d{6}$", examples=["371602"])]
if TYPE_CHECKING:
    EventType = str
else:  # the catalogue's event types, listed in the schema (an unknown one is 422)
    EventType = Literal[tuple(sorted(EVENT_TYPES))]
MAX_CHANNELS = 10
MAX_REPLAY = dt.timedelta(days=31)


class _Input(InputModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- rules
class RuleSetPublic(BaseModel):
    version: int = Field(description="0: the default set, never replaced")
    rules: list[Rule]
    created_by: str | None
    created_at: dt.datetime | None


# ---------------------------------------------------------------- recipients
class RobotChannelIn(_Input):
    """A group robot: DingTalk's (with its 加签 secret, `SEC…`) or WeCom's."""

    type: Literal["dingtalk", "wecom"]
    url: Url
    secret: (
        Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")] | None
    ) = None

    @model_validator(mode="after")
    def _secret_for_dingtalk(self) -> RobotChannelIn:
        if self.type == "wecom" and self.secret is not None:
            raise rule_error("a WeCom robot takes no secret (its key is in the URL)")
        return self


class RecipientCreate(_Input):
    kind: RecipientKind
    key: Annotated[
        str,
        *required_text(200),
        Field(description="commander: `commander`; county: its code; department, leader: the name"),
    ]
    name: Text200
    channels: Annotated[list[RobotChannelIn], Field(default_factory=list, max_length=MAX_CHANNELS)]


class RecipientPatch(_Input):
    name: Text200 | None = None
    channels: Annotated[list[RobotChannelIn], Field(max_length=MAX_CHANNELS)] | None = None


class RobotChannelPublic(BaseModel):
    id: str
    type: Literal["dingtalk", "wecom"]
    url: str = Field(description="the robot's address with its token masked")
    has_secret: bool


class RecipientPublic(BaseModel):
    id: str
    kind: RecipientKind
    key: str
    name: str
    channels: list[RobotChannelPublic]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


# ---------------------------------------------------------------- the inbox
class NotificationPublic(BaseModel):
    id: str
    recipient_kind: RecipientKind
    recipient_key: str
    rule_id: str
    trigger: str
    title: str
    body: str
    link: str | None = Field(description="the item's path behind the gateway")
    county: str | None
    event_id: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int


# ---------------------------------------------------------------- webhooks
class SubscriptionCreate(_Input):
    url: Url
    description: Annotated[str, *required_text(500)] | None = None
    event_types: Annotated[
        list[EventType],
        Field(default_factory=list, max_length=len(EVENT_TYPES), description="empty: every type"),
    ]
    county: CountyCode | None = Field(None, description="only this county's events")


class SubscriptionPatch(_Input):
    url: Url | None = None
    description: Annotated[str, *required_text(500)] | None = None
    event_types: Annotated[list[EventType], Field(max_length=len(EVENT_TYPES))] | None = None
    county: CountyCode | None = None
    enabled: StrictBool | None = None
    rotate_secret: StrictBool = Field(
        False, description="a new secret, answered once; the old one signs too for a while"
    )


class SubscriptionPublic(BaseModel):
    id: str
    url: str
    description: str | None
    event_types: list[str]
    county: str | None
    enabled: bool
    disabled_reason: str | None
    failing_since: dt.datetime | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class SubscriptionWithSecret(SubscriptionPublic):
    secret: str = Field(description="`whsec_…`: shown once, when made or rotated")


class SubscriptionChanged(SubscriptionPublic):
    secret: str | None = Field(
        description="the new `whsec_…` when `rotate_secret` was asked (shown once), else null"
    )


class AsyncApiDocument(BaseModel):
    """The AsyncAPI 3.0 document (its full schema is AsyncAPI's own)."""

    model_config = ConfigDict(extra="allow")

    asyncapi: Literal["3.0.0"]
    info: dict[str, Any]
    channels: dict[str, Any]
    operations: dict[str, Any]
    components: dict[str, Any]


class AttemptPublic(BaseModel):
    attempted_at: dt.datetime
    status: int | None
    ok: bool
    latency_ms: int
    error: str | None


class DeliveryPublic(BaseModel):
    id: str
    subscription_id: str
    webhook_id: str = Field(description="the CloudEvent id: the `webhook-id` header")
    event_type: str
    status: Literal["pending", "delivered", "failed", "paused"]
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    attempt_log: list[AttemptPublic]


class ReplayRequest(_Input):
    """Send again every kept event of [since, until) that the subscription's filter matches."""

    since: AwareDatetime
    until: AwareDatetime

    @model_validator(mode="after")
    def _window(self) -> ReplayRequest:
        if self.until <= self.since:
            raise rule_error("until must come after since")
        if self.until - self.since > MAX_REPLAY:
            raise rule_error(f"a replay covers at most {MAX_REPLAY.days} days")
        return self


class ReplayAccepted(BaseModel):
    queued: int


def public(model: type[BaseModel], row: Any, **extra: Any) -> Any:
    """A row as its public model (the columns the model names)."""
    data = {name: getattr(row, name) for name in model.model_fields if hasattr(row, name)}
    return model.model_validate({**data, **extra})
