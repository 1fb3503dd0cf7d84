"""HTTP routes of the notifications service: the inbox, the live stream, recipients, the rules,
webhook subscriptions with their deliveries, and the AsyncAPI catalogue for subscribers."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterable
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.sse import EventSourceResponse, ServerSentEvent

from services.notifications import access, queries, service
from services.notifications.config import Context
from services.notifications.domain.occasions import RecipientKind
from services.notifications.domain.rules import RuleSetInput
from services.notifications.models import Delivery, Notification, Recipient, Subscription
from services.notifications.schemas import (
    AsyncApiDocument,
    AttemptPublic,
    DeliveryPublic,
    EventType,
    MarkedRead,
    NotificationPublic,
    RecipientCreate,
    RecipientPatch,
    RecipientPublic,
    ReplayAccepted,
    ReplayRequest,
    RobotChannelPublic,
    RuleSetPublic,
    SubscriptionChanged,
    SubscriptionCreate,
    SubscriptionPatch,
    SubscriptionPublic,
    SubscriptionWithSecret,
    UnreadCount,
    public,
)
from shared.auth import Principal, decode_token
from shared.errors import InvalidInput, Unauthenticated
from shared.events.asyncapi import asyncapi_document
from shared.http.app import CurrentUser, DbSession, RuntimeDep, Uow, current_principal
from shared.http.conventions import (
    DEFAULT_LIMIT,
    IF_MATCH_REQUIRED,
    Limit,
    Offset,
    Page,
    created,
    parse_if_match,
    set_etag,
)

router = APIRouter(prefix="/v1", tags=["notifications"])

Id = Annotated[str, Path(max_length=36)]
STREAM_BATCH = 500


def get_context(runtime: RuntimeDep) -> Context:
    return Context.of(runtime)


Ctx = Annotated[Context, Depends(get_context)]


# ---------------------------------------------------------------- the inbox
def _note(n: Notification) -> NotificationPublic:
    return public(NotificationPublic, n)


@router.get("/notifications", response_model=Page[NotificationPublic])
async def list_notifications(
    session: DbSession,
    user: CurrentUser,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    unread: bool | None = None,
    recipient_kind: RecipientKind | None = None,
    recipient_key: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[NotificationPublic]:
    """The token holder's inbox, newest first (the command office may name another's)."""
    inbox = access.inbox_to_read(user, recipient_kind, recipient_key)
    rows, total = await queries.list_notifications(
        session, inbox, unread=unread, limit=limit, offset=offset
    )
    return Page[NotificationPublic](items=[_note(n) for n in rows], total=total)


@router.get("/notifications/unread-count", response_model=UnreadCount)
async def unread_count(session: DbSession, user: CurrentUser) -> UnreadCount:
    return UnreadCount(unread=await queries.unread_count(session, access.inbox_of(user)))


@router.post("/notifications/read-all", response_model=MarkedRead)
async def read_all(uow: Uow, user: CurrentUser) -> MarkedRead:
    return MarkedRead(marked=await service.mark_all_read(uow, user))


@router.post("/notifications/{notification_id}/read", response_model=NotificationPublic)
async def read_one(notification_id: Id, uow: Uow, user: CurrentUser) -> NotificationPublic:
    return _note(await service.mark_read(uow, user, notification_id))


# ---------------------------------------------------------------- the live stream
def stream_principal(
    request: Request,
    runtime: RuntimeDep,
    access_token: Annotated[
        str | None,
        Query(max_length=4096, description="for EventSource, which cannot send a header"),
    ] = None,
) -> Principal:
    if access_token is None:
        return current_principal(request)
    if request.headers.get("authorization"):
        raise Unauthenticated("send the token in the header or in access_token, not both")
    return decode_token(runtime.settings.jwt_secret.get_secret_value(), access_token)


def resume_point(
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
    after: Annotated[
        int | None, Query(ge=0, le=10**18 - 1, description="resume after this id")
    ] = None,
) -> int | None:
    """Where a stream resumes; a dependency, so a bad id is refused (422) before the stream's
    200 has gone out."""
    header, query = last_event_id, after
    if header is None:
        return query
    if not (header.isascii() and header.isdigit()) or len(header) > 18:
        raise InvalidInput(
            "Last-Event-ID must be an id this stream sent",
            errors=[{"field": "Last-Event-ID", "message": "not a stream id"}],
        )
    return int(header)


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "server-sent events: `id` the feed number, `event` the "
            "CloudEvent type, `data` the CloudEvent"
        }
    },
)
async def stream(
    request: Request,
    runtime: RuntimeDep,
    ctx: Ctx,
    user: Annotated[Principal, Depends(stream_principal)],
    resume: Annotated[int | None, Depends(resume_point)],
    types: Annotated[list[EventType], Query(max_length=100)] = [],  # noqa: B006
) -> AsyncIterable[ServerSentEvent]:
    """Every event in the holder's scope as it is applied, resumable: a client that reconnects
    with `Last-Event-ID` gets what it missed while the service kept it (the feed's retention).
    Without one, the stream starts from now. It ends when the token expires (reconnecting then
    is 401), so an old token cannot keep listening."""
    position = resume
    if position is None:
        async with runtime.session_factory() as session:
            position = await queries.feed_head(session)
    yield ServerSentEvent(comment="kuaiche stream", retry=2000)
    while not await request.is_disconnected() and not _expired(user):
        async with runtime.session_factory() as session:
            rows, position = await queries.feed_after(
                session, user, position, list(types), STREAM_BATCH
            )
        for row in rows:
            yield ServerSentEvent(raw_data=row.event, event=row.type, id=str(row.id))
        if not rows:
            await asyncio.sleep(ctx.config.stream_poll_interval)


def _expired(user: Principal) -> bool:
    return user.expires_at is not None and dt.datetime.now(dt.UTC) >= user.expires_at


# ---------------------------------------------------------------- rules
@router.get("/rules", response_model=RuleSetPublic)
async def get_rules(session: DbSession, user: CurrentUser, response: Response) -> RuleSetPublic:
    """The rules in force (version 0 is the default set shipped with the service)."""
    version, rules = await service.rules_in_force(session)
    row = await session.get(service.RuleSet, version) if version else None
    set_etag(response, version)
    return RuleSetPublic(
        version=version,
        rules=rules,
        created_by=row.created_by if row else None,
        created_at=row.created_at if row else None,
    )


@router.put("/rules", response_model=RuleSetPublic, openapi_extra=IF_MATCH_REQUIRED)
async def put_rules(
    body: RuleSetInput, uow: Uow, user: CurrentUser, request: Request, response: Response
) -> RuleSetPublic:
    """Replace the whole rule set (the command office), naming the version read in If-Match."""
    expected = parse_if_match(request.headers.get("if-match"), "the rules")
    row = await service.replace_rules(uow, user, expected, body)
    set_etag(response, row.version)
    return RuleSetPublic(
        version=row.version, rules=body.rules, created_by=row.created_by, created_at=row.created_at
    )


# ---------------------------------------------------------------- recipients
def _masked(url: str) -> str:
    """A robot's address without its token (the access_token or key is its password)."""
    parts = urlsplit(url)
    query = "&".join(
        f"{k}=***" for k, _, _ in (p.partition("=") for p in parts.query.split("&") if p)
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _recipient(r: Recipient) -> RecipientPublic:
    channels = [
        RobotChannelPublic(
            id=c["id"], type=c["type"], url=_masked(c["url"]), has_secret=bool(c.get("secret"))
        )
        for c in r.channels
    ]
    return public(RecipientPublic, r, channels=channels)


@router.post("/recipients", status_code=status.HTTP_201_CREATED, response_model=RecipientPublic)
async def create_recipient(
    body: RecipientCreate, uow: Uow, user: CurrentUser, ctx: Ctx, response: Response
) -> RecipientPublic:
    row = await service.create_recipient(uow, ctx, user, body)
    created(response, f"/v1/recipients/{row.id}", row.version)
    return _recipient(row)


@router.get("/recipients", response_model=Page[RecipientPublic])
async def list_recipients(
    session: DbSession,
    user: CurrentUser,
    kind: RecipientKind | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Page[RecipientPublic]:
    rows, total = await queries.list_recipients(session, user, kind, limit, offset)
    return Page[RecipientPublic](items=[_recipient(r) for r in rows], total=total)


@router.get("/recipients/{recipient_id}", response_model=RecipientPublic)
async def get_recipient(
    recipient_id: Id, session: DbSession, user: CurrentUser, response: Response
) -> RecipientPublic:
    row = await queries.get_recipient(session, user, recipient_id)
    set_etag(response, row.version)
    return _recipient(row)


@router.patch(
    "/recipients/{recipient_id}", response_model=RecipientPublic, openapi_extra=IF_MATCH_REQUIRED
)
async def patch_recipient(
    recipient_id: Id,
    body: RecipientPatch,
    uow: Uow,
    user: CurrentUser,
    ctx: Ctx,
    request: Request,
    response: Response,
) -> RecipientPublic:
    expected = parse_if_match(request.headers.get("if-match"), "the recipient")
    row = await service.update_recipient(uow, ctx, user, recipient_id, expected, body)
    set_etag(response, row.version)
    return _recipient(row)


# ---------------------------------------------------------------- webhook subscriptions
def _subscription(s: Subscription) -> SubscriptionPublic:
    return public(SubscriptionPublic, s)


@router.post(
    "/subscriptions", status_code=status.HTTP_201_CREATED, response_model=SubscriptionWithSecret
)
async def create_subscription(
    body: SubscriptionCreate, uow: Uow, user: CurrentUser, ctx: Ctx, response: Response
) -> SubscriptionWithSecret:
    """A webhook endpoint; its signing secret (`whsec_…`) is in this answer only."""
    row = await service.create_subscription(uow, ctx, user, body)
    created(response, f"/v1/subscriptions/{row.id}", row.version)
    return public(SubscriptionWithSecret, row)


@router.get("/subscriptions", response_model=Page[SubscriptionPublic])
async def list_subscriptions(
    session: DbSession, user: CurrentUser, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0
) -> Page[SubscriptionPublic]:
    rows, total = await queries.list_subscriptions(session, user, limit, offset)
    return Page[SubscriptionPublic](items=[_subscription(s) for s in rows], total=total)


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionPublic)
async def get_subscription(
    subscription_id: Id, session: DbSession, user: CurrentUser, response: Response
) -> SubscriptionPublic:
    row = await queries.get_subscription(session, user, subscription_id)
    set_etag(response, row.version)
    return _subscription(row)


@router.patch(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionChanged,
    openapi_extra=IF_MATCH_REQUIRED,
)
async def patch_subscription(
    subscription_id: Id,
    body: SubscriptionPatch,
    uow: Uow,
    user: CurrentUser,
    ctx: Ctx,
    request: Request,
    response: Response,
) -> SubscriptionChanged:
    """Change an endpoint, switch it on or off, or rotate its secret (answered once)."""
    expected = parse_if_match(request.headers.get("if-match"), "the subscription")
    row = await service.update_subscription(uow, ctx, user, subscription_id, expected, body)
    set_etag(response, row.version)
    return public(SubscriptionChanged, row, secret=row.secret if body.rotate_secret else None)


@router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(subscription_id: Id, uow: Uow, user: CurrentUser) -> Response:
    await service.delete_subscription(uow, user, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _deliveries(session: Any, rows: list[Delivery]) -> list[DeliveryPublic]:
    attempts = await queries.attempts_of(session, [d.id for d in rows])
    return [
        public(
            DeliveryPublic,
            d,
            subscription_id=d.target,
            webhook_id=d.message_id,
            attempt_log=[public(AttemptPublic, a) for a in attempts[d.id]],
        )
        for d in rows
    ]


@router.get("/subscriptions/{subscription_id}/deliveries", response_model=Page[DeliveryPublic])
async def list_deliveries(
    subscription_id: Id,
    session: DbSession,
    user: CurrentUser,
    delivery_status: Annotated[
        str | None, Query(alias="status", pattern="^(pending|delivered|failed|paused)$")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Page[DeliveryPublic]:
    """Each delivery, newest first, with every attempt: status, latency, error."""
    sub = await queries.get_subscription(session, user, subscription_id)
    rows, total = await queries.list_deliveries(session, sub.id, delivery_status, limit, offset)
    return Page[DeliveryPublic](items=await _deliveries(session, rows), total=total)


@router.get(
    "/subscriptions/{subscription_id}/deliveries/{delivery_id}", response_model=DeliveryPublic
)
async def get_delivery(
    subscription_id: Id, delivery_id: Id, session: DbSession, user: CurrentUser
) -> DeliveryPublic:
    sub = await queries.get_subscription(session, user, subscription_id)
    row = await queries.get_delivery(session, sub.id, delivery_id)
    return (await _deliveries(session, [row]))[0]


@router.post(
    "/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_201_CREATED,
    response_model=DeliveryPublic,
)
async def redeliver(
    subscription_id: Id,
    delivery_id: Id,
    uow: Uow,
    session: DbSession,
    user: CurrentUser,
    response: Response,
) -> DeliveryPublic:
    """Send the message again, with the same `webhook-id`, as a new delivery."""
    row = await service.redeliver(uow, user, subscription_id, delivery_id)
    created(response, f"/v1/subscriptions/{subscription_id}/deliveries/{row.id}", 1)
    return (await _deliveries(session, [row]))[0]


@router.post("/subscriptions/{subscription_id}/replay", response_model=ReplayAccepted)
async def replay(
    subscription_id: Id, body: ReplayRequest, uow: Uow, user: CurrentUser
) -> ReplayAccepted:
    """Queue again every event of a time window (of those the feed still keeps)."""
    return ReplayAccepted(queued=await service.replay(uow, user, subscription_id, body))


# ---------------------------------------------------------------- the catalogue
@router.get("/asyncapi.json", response_model=AsyncApiDocument, tags=["catalogue"])
async def asyncapi() -> AsyncApiDocument:
    """The AsyncAPI 3.0 document of every topic and event type (no token needed, like
    /openapi.json): how a downstream team follows kuaiche by Kafka or by webhook."""
    return AsyncApiDocument.model_validate(asyncapi_document())
