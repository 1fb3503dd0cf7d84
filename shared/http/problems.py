"""RFC 9457 problem details for every error; no stack trace ever reaches a client."""

from __future__ import annotations

import logging
import re
from typing import Any

from asyncpg.exceptions import InterfaceError as AsyncpgInterfaceError
from asyncpg.exceptions import PostgresError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import OutageLog, is_unavailable
from shared.errors import KuaicheError, RuleViolation
from shared.fields import RULE_ERROR

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# Seconds a client is told to wait before retrying a 503 (Retry-After): about what a
# PostgreSQL restart or a broker's failover takes.
RETRY_AFTER_SECONDS = 5

# Titles of the statuses raised as Starlette HTTPExceptions whose detail is a sentence.
_TITLES = {400: "Bad request", 413: "Payload too large"}


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def database_unavailable() -> JSONResponse:
    """The answer to a request the database could not serve for now (`is_unavailable`)."""
    return problem(503, "Service unavailable", "the database is unavailable; retry later")


# What a down database raises on its way out of a route: SQLAlchemy's errors (OperationalError,
# InterfaceError, the pool's TimeoutError), asyncpg's own where SQLAlchemy passes them through
# (CannotConnectNowError while the server starts or stops), and the socket's OSErrors
# (ConnectionRefusedError, TimeoutError). `is_unavailable` tells which of them mean "not now".
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    SQLAlchemyError,
    PostgresError,
    AsyncpgInterfaceError,
    OSError,
)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _allowed_methods(request: Request) -> str:
    """The methods of the path as the OpenAPI document has it (the most specific template
    matching the URL: `/v1/projects/import` over `/v1/projects/{project_id}`), which is what a
    client reads. Starlette's own header names only the first route's methods."""
    path = request.scope.get("path", "")
    matches = []
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        if re.fullmatch(pattern, path):
            matches.append((template.count("{"), template, operations))
    if not matches:
        return ""
    operations = min(matches, key=lambda m: m[:2])[2]
    return ", ".join(
        m.upper() for m in ("get", "post", "put", "patch", "delete") if m in operations
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(KuaicheError)
    async def _domain(_: Request, exc: KuaicheError) -> JSONResponse:
        extra = dict(exc.extra)
        errors = getattr(exc, "errors", None)
        if errors:
            extra["errors"] = errors
        return problem(exc.status, exc.title, exc.detail, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        raw = exc.errors()
        errors = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in raw]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        if raw and all(e["type"] == RULE_ERROR for e in raw):  # the schema was met
            return problem(409, RuleViolation.title, detail, errors=errors)
        return problem(422, "Invalid input", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        detail = str(exc.detail)
        if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
            # FastAPI's answer to a body the JSON parser gave up on, which says nothing
            detail = "the JSON body is nested too deeply to be read"
        title = _TITLES.get(exc.status_code, detail)
        return problem(exc.status_code, title, detail, headers=headers)

    # One line when the database goes away, one when it is back (/readyz says so), not one
    # per request answered 503.
    outage = app.state.database_outage = OutageLog(log, app.title, "answering 503")

    async def _database(_: Request, exc: Exception) -> JSONResponse:
        if is_unavailable(exc):
            outage.failed(exc)
            return database_unavailable()
        log.exception("database error", exc_info=exc)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")

    # Database and network errors are handled here rather than by the catch-all below, which
    # Starlette re-raises after answering (so the server logs a crash for a down database).
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_unavailable(exc):  # a down database under another error (raised `from` it)
            return await _database(request, exc)
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")
