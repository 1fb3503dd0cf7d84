"""Idempotency-Key for creating POSTs: a retried request gets the first answer.

The request runs in one transaction (`HeldTransaction`: its use cases flush into it, its reads
see what they wrote) and its answer is stored, a row per caller and key, in that same
transaction when the route has answered. So a process that dies at any point leaves either the
change with its answer (a retry gets the answer) or neither (a retry applies the change once).
Two concurrent requests with one key both run; the second to commit meets the first's row (the
primary key), drops its own change and answers with the first's answer. A 5xx keeps nothing,
so the request may be retried. Reusing a key for a different request is refused (422).
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import Headers
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.auth import decode_token
from shared.db import UTCDateTime, is_unavailable, utcnow
from shared.errors import Unauthenticated
from shared.http.problems import database_unavailable, problem
from shared.uow import HeldTransaction

_held: ContextVar[HeldTransaction | None] = ContextVar("idempotent_request", default=None)

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 200


def idempotency_columns() -> list[Column]:
    return [
        Column("subject", String(200), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("method", String(10), nullable=False),
        Column("path", String(500), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("completed", Boolean, nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("content_type", String(200), nullable=True),
        Column("body", Text, nullable=True),
        Column("headers", Text, nullable=True),
        Column("created_at", UTCDateTime(), nullable=False),
    ]


def idempotency_table(metadata: MetaData) -> Table:
    return Table("idempotency_keys", metadata, *idempotency_columns())


REPLAYED_HEADERS = ("location", "etag")


class IdempotencyMiddleware:
    """Requests without the header (nearly all) go straight through, at no cost; a POST with it
    goes to `_IdempotentRequests`, which keeps its answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.idempotent = _IdempotentRequests(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and Headers(scope=scope).get(HEADER) is not None
        ):
            await self.idempotent(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class _IdempotentRequests(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return await call_next(request)
        runtime = getattr(request.app.state, "runtime", None)
        subject = _subject(request, runtime)
        if runtime is None or subject is None:
            return await call_next(request)  # auth answers 401 itself
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            return problem(
                422, "Invalid input", f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters"
            )
        table: Table = runtime.definition.idempotency
        digest = _fingerprint(
            request.url.path, request.headers.get("content-type", ""), await request.body()
        )
        sessions = runtime.session_factory
        try:
            answer = await _stored_answer(sessions, table, subject, key, digest)
        except Exception as exc:
            return _unavailable_or_raise(exc)
        if answer is not None:
            return answer
        held = HeldTransaction(sessions())
        token = _held.set(held)  # the route's task starts with a copy of this context
        try:
            return await _run_and_keep(held, call_next, request, table, subject, key, digest)
        finally:
            _held.reset(token)
            await held.session.close()


async def _run_and_keep(
    held: HeldTransaction,
    call_next: RequestResponseEndpoint,
    request: Request,
    table: Table,
    subject: str,
    key: str,
    digest: str,
) -> Response:
    """Run the request in `held` and commit its change with its answer; a 5xx keeps nothing,
    so the request may be retried."""
    session = held.session
    try:
        response = await call_next(request)
    except Exception:
        await session.rollback()
        raise
    if response.status_code >= 500:
        await session.rollback()
        return response
    content = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
    kept = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
    try:
        await session.execute(
            insert(table).values(
                subject=subject,
                key=key,
                method=request.method,
                path=request.url.path,
                request_hash=digest,
                completed=True,
                status_code=response.status_code,
                content_type=response.headers.get("content-type"),
                body=content.decode("utf-8", "replace"),
                headers=json.dumps(kept),
                created_at=utcnow(),
            )
        )
        await held.commit()
    except IntegrityError:
        # A concurrent request with the key committed first: its change stands, ours goes.
        await session.rollback()
        answer = await _stored_answer(
            request.app.state.runtime.session_factory, table, subject, key, digest
        )
        return answer or _in_progress()
    except Exception as exc:
        await session.rollback()
        return _unavailable_or_raise(exc)
    return Response(content, status_code=response.status_code, headers=dict(response.headers))


def _fingerprint(path: str, content_type: str, body: bytes) -> str:
    """What makes two requests the same: path and body, with a multipart body's boundary
    (random per attempt) taken out, so a retried file upload matches its first try."""
    if content_type.startswith("multipart/"):
        boundary = content_type.partition("boundary=")[2].split(";")[0].strip().strip('"')
        if boundary:
            body = body.replace(boundary.encode("latin-1", "replace"), b"BOUNDARY")
    return hashlib.sha256(path.encode() + b"\n" + body).hexdigest()


def _unavailable_or_raise(exc: Exception) -> Response:
    if is_unavailable(exc):
        return database_unavailable()
    raise exc


def _subject(request: Request, runtime: Any) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if runtime is None or scheme.lower() != "bearer" or not token:
        return None
    try:
        return decode_token(runtime.settings.jwt_secret.get_secret_value(), token.strip()).actor
    except Unauthenticated:
        return None


async def _stored_answer(
    sessions: Any, table: Table, subject: str, key: str, digest: str
) -> Response | None:
    """The answer a request with this key already has, or None."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(table).where(table.c.subject == subject, table.c.key == key)
            )
        ).one_or_none()
    if row is None:
        return None
    if row.request_hash != digest:
        return problem(
            422, "Invalid input", "this Idempotency-Key was used for a different request"
        )
    if not row.completed:  # a claim written before answers were kept with the change
        return _in_progress()
    headers = {**json.loads(row.headers or "{}"), "Idempotent-Replayed": "true"}
    return Response(
        row.body or "", status_code=row.status_code, media_type=row.content_type, headers=headers
    )


def _in_progress() -> Response:
    return problem(409, "Conflict", "a request with this Idempotency-Key is still being processed")


def held_transaction() -> HeldTransaction | None:
    """The transaction of the request with an Idempotency-Key being served, if any: its use
    cases and reads go through it (`shared.http.app.get_uow`, `get_session`)."""
    return _held.get()


def install_idempotency(app: FastAPI) -> None:
    app.add_middleware(IdempotencyMiddleware)
