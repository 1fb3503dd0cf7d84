"""The embedded gateway (kuaiche/gateway.py): one origin, each service under its prefix with the
prefix stripped, the console at `/`; and the CORS allow-list (`KUAICHE_CORS_ORIGINS`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kuaiche.gateway import build_gateway
from kuaiche.services import SERVICES
from shared.bus.inprocess import InProcessBus
from shared.config import parse_origins
from tests.api.registry.helpers import project_body
from tests.conftest import COMMANDER, make_settings, start_service


@pytest.fixture
async def suite(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """Every service on the embedded default, sharing one in-process bus, as `kuaiche up`."""
    bus = InProcessBus()
    await bus.start()
    apps: dict[str, Any] = {}
    lifespans = []
    try:
        for name, definition in SERVICES.items():
            url = f"sqlite+aiosqlite:///{tmp_path / f'{name}.sqlite3'}"
            app, lifespan = await start_service(definition, make_settings(name, url, tmp_path), bus)
            apps[name] = app
            lifespans.append(lifespan)
        yield apps
    finally:
        for lifespan in reversed(lifespans):
            await lifespan.__aexit__(None, None, None)
        await bus.stop()


@pytest.fixture
def console_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "console"
    (folder / "node_modules" / "echarts" / "dist").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>挂图作战</title>", encoding="utf-8")
    (folder / "node_modules" / "echarts" / "dist" / "echarts.esm.min.js").write_text("//")
    return folder


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


async def test_each_service_answers_under_its_prefix_as_on_its_own(
    suite: dict[str, Any], console_dir: Path
) -> None:
    async with client(build_gateway(suite, console_dir)) as gateway:
        for name, app in suite.items():
            async with client(app) as direct:
                assert (await gateway.get(f"/{name}/livez")).json()["service"] == name
                spec = (await gateway.get(f"/{name}/openapi.json")).json()
                # the same document, whose "Try it out" goes through the gateway
                assert spec.pop("servers") == [{"url": f"/{name}"}]
                assert spec == (await direct.get("/openapi.json")).json(), name
        regions = await gateway.get("/registry/v1/regions", headers=COMMANDER)
        assert regions.status_code == 200 and len(regions.json()["divisions"]) == 10
        # the prefix is stripped: the registry knows no /registry path of its own
        assert (await gateway.get("/registry/registry/v1/regions")).status_code == 404
        # a write goes through, with its Location under the gateway's prefix
        created = await gateway.post(
            "/registry/v1/projects",
            headers=COMMANDER,
            json=project_body(name="网关测试项目"),
        )
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        assert location.startswith("/registry/v1/projects/")
        assert (await gateway.get(location, headers=COMMANDER)).status_code == 200, location
        async with client(suite["registry"]) as direct:  # on its own port, no prefix
            again = await direct.post("/v1/projects", headers=COMMANDER, json=project_body())
            assert again.headers["location"].startswith("/v1/projects/")
            # behind nginx, which strips the prefix and says so
            proxied = await direct.post(
                "/v1/projects",
                headers={**COMMANDER, "X-Forwarded-Prefix": "/registry"},
                json=project_body(),
            )
            assert proxied.headers["location"].startswith("/registry/v1/projects/")


async def test_the_console_is_served_at_the_root(suite: dict[str, Any], console_dir: Path) -> None:
    async with client(build_gateway(suite, console_dir)) as gateway:
        page = await gateway.get("/")
        assert page.status_code == 200 and "挂图作战" in page.text
        assert page.headers["cache-control"] == "no-cache"
        script = await gateway.get("/node_modules/echarts/dist/echarts.esm.min.js")
        assert script.status_code == 200 and "max-age" in script.headers["cache-control"]
        assert (await gateway.get("/nothing-here.js")).status_code == 404
        assert (await gateway.get("/../pyproject.toml")).status_code == 404


async def test_no_cors_headers_unless_an_origin_is_allowed(tmp_path: Path) -> None:
    definition = SERVICES["registry"]
    url = f"sqlite+aiosqlite:///{tmp_path / 'registry.sqlite3'}"
    closed = make_settings("registry", url, tmp_path)
    opened = closed.model_copy(update={"cors_origins": ["https://console.example.gov.cn"]})
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, idempotency-key, content-type",
    }
    for settings, expected in ((closed, None), (opened, "https://console.example.gov.cn")):
        app, lifespan = await start_service(definition, settings, InProcessBus())
        try:
            async with client(app) as api:
                for origin in ("https://console.example.gov.cn", "https://evil.example.com"):
                    got = await api.get("/v1/projects", headers={**COMMANDER, "Origin": origin})
                    assert got.status_code == 200
                    allowed = got.headers.get("access-control-allow-origin")
                    assert allowed == (expected if origin == expected else None), origin
                    pre = await api.options("/v1/projects", headers={**preflight, "Origin": origin})
                    if origin == expected:
                        assert pre.status_code == 200
                        assert pre.headers["access-control-allow-origin"] == origin
                        assert "idempotency-key" in pre.headers["access-control-allow-headers"]
                    else:
                        assert "access-control-allow-origin" not in pre.headers
                if expected:  # a refusal carries the headers too, and ETag is readable
                    refused = await api.get("/v1/projects", headers={"Origin": expected})
                    assert refused.status_code == 401
                    assert refused.headers["access-control-allow-origin"] == expected
                    assert "ETag" in refused.headers["access-control-expose-headers"]
        finally:
            await lifespan.__aexit__(None, None, None)


def test_cors_origins_are_origins() -> None:
    assert parse_origins("") == []
    assert parse_origins(" https://a.example.cn, http://10.1.2.3:8080/ ") == [
        "https://a.example.cn",
        "http://10.1.2.3:8080",
    ]
    for bad in ("*", "a.example.cn", "https://a.example.cn/console", "ftp://a.example.cn"):
        with pytest.raises(ValueError, match="KUAICHE_CORS_ORIGINS"):
            parse_origins(bad)
