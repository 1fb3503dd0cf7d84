"""The app factory every service uses: problem handlers, auth, health, metrics, lifespan.

`build_app(definition, settings)` builds nothing at import; the lifespan opens the runtime
(engine, bus) and, with `with_worker=True` (the embedded `kuaiche up`), runs the worker too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import Principal, decode_token
from shared.bus.base import Bus
from shared.config import ServiceSettings
from shared.db import is_unavailable
from shared.errors import Unauthenticated
from shared.http.conventions import document_conventions
from shared.http.problems import install_problem_handlers, problem
from shared.idempotency import held_transaction, install_idempotency
from shared.runtime import Runtime, open_runtime, run_worker
from shared.service import ServiceDefinition
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


# Dependencies are `async def` even where they do no I/O: FastAPI runs a plain `def` in a
# worker thread, a hop to a thread and back for each one on every request.
async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    held = held_transaction()
    if held is not None:  # an Idempotency-Key request: its reads see what its use cases wrote
        yield held.session
        return
    async with _runtime(request).session_factory() as session:
        yield session


async def get_uow(request: Request) -> UnitOfWork:
    return _runtime(request).uow(held=held_transaction())


def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("a bearer token is required")
    secret = _runtime(request).settings.jwt_secret.get_secret_value()
    return decode_token(secret, token.strip())


async def _current_principal(request: Request) -> Principal:
    return current_principal(request)


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# The session ends with the route function, before the answer is sent (on SQLite every
# transaction holds the write lock). A request with an Idempotency-Key reads and writes through
# its one held transaction instead, which the middleware commits with the answer.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
Uow = Annotated[UnitOfWork, Depends(get_uow)]
CurrentUser = Annotated[Principal, Depends(_current_principal)]


def build_app(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    *,
    bus: Bus | None = None,
    with_worker: bool = False,
    on_ready: Callable[[Runtime], Awaitable[None]] | None = None,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await open_runtime(definition, settings, bus)
        app.state.runtime = runtime
        stop = asyncio.Event()
        worker: asyncio.Task[None] | None = None
        if with_worker:
            worker = asyncio.create_task(
                run_worker(runtime, stop), name=f"{settings.service}-worker"
            )
        try:
            if on_ready:
                await on_ready(runtime)
            yield
        finally:
            stop.set()
            if worker is not None:
                await worker
            await runtime.close()

    app = FastAPI(title=f"kuaiche {definition.title}", version="1", lifespan=lifespan)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
            app.openapi_schema = document_conventions(spec)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_problem_handlers(app)
    install_idempotency(app)
    _install_request_guards(app, settings.max_body_bytes)
    _install_metrics_middleware(app)
    _install_location_prefix(app)
    if settings.cors_origins:  # added last: outermost, so refusals carry the headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
        )

    @app.get("/livez", tags=["ops"])
    async def livez() -> dict[str, str]:
        return {"status": "alive", "service": settings.service}

    @app.get("/readyz", tags=["ops"], responses={503: {"description": "a dependency is down"}})
    async def readyz(runtime: RuntimeDep) -> Response:
        checks: dict[str, str] = {}
        try:
            async with runtime.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), 5)
            checks["database"] = "ok"
            app.state.database_outage.succeeded()
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
            if is_unavailable(exc):
                app.state.database_outage.failed(exc)
        try:
            await asyncio.wait_for(runtime.bus.ping(), 8)
            checks["bus"] = "ok"
        except Exception as exc:
            checks["bus"] = f"unavailable: {type(exc).__name__}"
        if runtime.worker_state:
            stuck = {k: v for k, v in runtime.worker_state.items() if v != "running"}
            checks["worker"] = (
                "ok" if not stuck else "; ".join(f"{k}: {v}" for k, v in stuck.items())
            )
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        resp = problem(503, "Service unavailable", "a dependency is unavailable", checks=checks)
        return resp

    @app.get(
        "/metrics",
        tags=["ops"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics(runtime: RuntimeDep) -> Response:
        try:  # measured now: the API is what is scraped, its worker may run elsewhere
            await asyncio.wait_for(runtime.measure_backlog(), 2.0)
        except Exception as exc:  # the database away: the rest still answers
            log.debug("/metrics: backlog not measured: %r", exc)
        return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4")

    for router in definition.routers:
        app.include_router(router)
    return app


# What a frontend elsewhere may read of an answer (bearer tokens, no cookies: no credentials).
CORS_EXPOSED_HEADERS = ["ETag", "Location", "Retry-After", "Content-Disposition"]

# The three below are plain ASGI middleware, not Starlette's BaseHTTPMiddleware
# (`@app.middleware("http")`), which runs the rest of the app in a task of its own with memory
# streams between: per middleware and request, a cost comparable to a short request's SQL.


def _install_request_guards(app: FastAPI, max_body_bytes: int) -> None:
    app.add_middleware(_RequestGuards, max_body_bytes=max_body_bytes)


class BodyTooLarge(HTTPException):
    """Raised by the guard's `receive` once a body passes the limit: FastAPI lets an
    HTTPException out of its body reading (any other error becomes a vague 400), and the
    problem handlers answer it 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is larger than {limit} bytes")


class _RequestGuards:
    """Refuse what no route should see: NUL characters in the URL (PostgreSQL cannot store
    them) and bodies larger than any route accepts (`KUAICHE_MAX_BODY_BYTES`): by their
    `Content-Length` before anything is read, and, for a body sent without one (chunked),
    as soon as what arrived passes the limit, so that nothing larger is ever buffered."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _refusal(scope, self.limit)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def noted(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, noted)
        except BodyTooLarge as exc:  # read outside FastAPI's body reading (a middleware)
            if started:
                raise
            await _too_large(str(exc.detail))(scope, receive, send)


def _too_large(detail: str) -> Response:
    return problem(413, "Payload too large", detail)


def _refusal(scope: Scope, limit: int) -> Response | None:
    if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
        return problem(422, "Invalid input", "the URL must not contain NUL characters")
    length = Headers(scope=scope).get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return _too_large(f"the body is larger than {limit} bytes")
    return None


_PREFIX = re.compile(r"^(/[A-Za-z0-9_-]+)+$")


def _install_location_prefix(app: FastAPI) -> None:
    app.add_middleware(_LocationPrefix)


class _LocationPrefix:
    """A `Location` the client can follow behind a gateway: under the prefix it called, the
    embedded gateway's mount (`root_path`) or nginx's `X-Forwarded-Prefix` (deploy/gateway/)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_prefixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                location = headers.get("location", "")
                if location.startswith("/"):
                    prefix = (
                        scope.get("root_path") or Headers(scope=scope).get("x-forwarded-prefix", "")
                    ).rstrip("/")
                    if _PREFIX.match(prefix) and not location.startswith(f"{prefix}/"):
                        headers["location"] = prefix + location
            await send(message)

        await self.app(scope, receive, send_prefixed)


def _install_metrics_middleware(app: FastAPI) -> None:
    app.add_middleware(_Measure)


class _Measure:
    """Count each answer by method, route and status, and time it (to its last byte)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[int] = []

        async def send_noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, send_noted)
        runtime = getattr(scope["app"].state, "runtime", None) if "app" in scope else None
        if runtime is not None and status:
            route = scope.get("route")  # the router sets it on this same scope
            path = getattr(route, "path", "unmatched")
            method = scope["method"]
            runtime.metrics.http_requests.labels(method, path, status[0]).inc()
            runtime.metrics.http_latency.labels(method, path).observe(time.perf_counter() - started)
