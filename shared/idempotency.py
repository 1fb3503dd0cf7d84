"""Idempotency-Key for creating POSTs: a retried request gets the first answer.

The key is claimed (a row per caller and key) before the request runs, so two concurrent
retries cannot both create; the answer is stored when the request ends. A request that failed
with 5xx releases its key, so it can be retried. A claim left unfinished (a crash between the
change and storing its answer) answers 409 until `STALE_AFTER`, then the request may run again:
the one window where a retry can repeat a change. Reusing a key for a different request is
refused (422).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
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
    delete,
    insert,
    select,
    update,
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

log = logging.getLogger(__name__)

HEADER = "idempotency-key"
STALE_AFTER = dt.timedelta(minutes=2)
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
            answer = await _claim(sessions, table, subject, key, request, digest)
        except Exception as exc:
            return _unavailable_or_raise(exc)
        if answer is not None:
            return answer
        try:
            response = await call_next(request)
        except Exception:
            await _release(sessions, table, subject, key)
            raise
        if response.status_code >= 500:
            await _release(sessions, table, subject, key)
            return response
        content = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        kept = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
        try:
            async with sessions() as session, session.begin():
                await session.execute(
                    update(table)
                    .where(table.c.subject == subject, table.c.key == key)
                    .values(
                        completed=True,
                        status_code=response.status_code,
                        content_type=response.headers.get("content-type"),
                        body=content.decode("utf-8", "replace"),
                        headers=json.dumps(kept),
                    )
                )
        except Exception:
            # The change is done; only its replay is lost. Answer it, and let a retry find
            # the claim unfinished (409) rather than run the change twice.
            log.exception("could not store the answer for Idempotency-Key %s", key)
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


async def _claim(
    sessions: Any, table: Table, subject: str, key: str, request: Request, digest: str
) -> Response | None:
    """Claim the key, or return the answer a request with it already has."""
    for _ in range(2):
        try:
            async with sessions() as session, session.begin():
                await session.execute(
                    insert(table).values(
                        subject=subject,
                        key=key,
                        method=request.method,
                        path=request.url.path,
                        request_hash=digest,
                        completed=False,
                        created_at=utcnow(),
                    )
                )
            return None
        except IntegrityError:
            pass
        async with sessions() as session, session.begin():
            row = (
                await session.execute(
                    select(table).where(table.c.subject == subject, table.c.key == key)
                )
            ).one_or_none()
            if row is None:
                continue  # released meanwhile: claim again
            if row.request_hash != digest:
                return problem(
                    422, "Invalid input", "this Idempotency-Key was used for a different request"
                )
            if row.completed:
                headers = {**json.loads(row.headers or "{}"), "Idempotent-Replayed": "true"}
                return Response(
                    row.body or "",
                    status_code=row.status_code,
                    media_type=row.content_type,
                    headers=headers,
                )
            if utcnow() - row.created_at > STALE_AFTER:
                await session.execute(
                    delete(table).where(table.c.subject == subject, table.c.key == key)
                )
                continue
            return problem(
                409, "Conflict", "a request with this Idempotency-Key is still being processed"
            )
    return problem(409, "Conflict", "a request with this Idempotency-Key is still being processed")


async def _release(sessions: Any, table: Table, subject: str, key: str) -> None:
    try:
        async with sessions() as session, session.begin():
            await session.execute(
                delete(table).where(table.c.subject == subject, table.c.key == key)
            )
    except Exception as exc:
        log.warning(
            "could not release Idempotency-Key %s (%r); it expires after %s",
            key,
            exc,
            STALE_AFTER,
            exc_info=not is_unavailable(exc),
        )


def install_idempotency(app: FastAPI) -> None:
    app.add_middleware(IdempotencyMiddleware)
