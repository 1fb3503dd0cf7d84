"""One origin for frontends in `kuaiche up`: every service under its prefix, the console at `/`.

`/registry/v1/projects` is the registry's `/v1/projects`, and so on for each service in
SERVICES; anything else is a file of the console (`console/`, index.html at `/`). The service
apps are the very ones `kuaiche up` serves on their own ports: the gateway only routes to them
in-process (their lifespans run once, under their own servers). The distributed stack does
the same with nginx (deploy/gateway/), tested by tests/integration/test_gateway_nginx.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"


class ConsoleFiles(StaticFiles):
    """The console's files; its page is always asked again (a new release shows at once),
    the pinned packages under node_modules/ are cached."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start":
                cache = "max-age=86400" if "/node_modules/" in path else "no-cache"
                message.setdefault("headers", []).append((b"cache-control", cache.encode()))
            await send(message)

        await super().__call__(scope, receive, send_with_cache)


def build_gateway(apps: Mapping[str, ASGIApp], console_dir: Path = CONSOLE_DIR) -> Starlette:
    routes = [Mount(f"/{name}", app=app, name=name) for name, app in apps.items()]
    routes.append(Mount("/", app=ConsoleFiles(directory=console_dir, html=True, check_dir=False)))
    return Starlette(routes=routes)
