"""The distributed gateway's nginx configuration (deploy/gateway/templates/) runs under Debian's
nginx, rendered as the official image renders it, in front of the five real services on
PostgreSQL and Kafka and the console's folder.

The image's /docker-entrypoint.d/20-envsubst-on-templates.sh renders each
/etc/nginx/templates/<name>.template into /etc/nginx/conf.d/<name> with
`envsubst "<the defined variables>"`: only variables that are set in the environment (and whose
names match NGINX_ENVSUBST_FILTER) are replaced, `$NAME` and `${NAME}` alike; everything else,
nginx's own `$host` and `$uri` included, is left as written. `render_templates` does the same.
The nginx.conf around it mirrors the image's (mime types, conf.d/*.conf in the http block),
with the paths a non-root run in a temporary prefix needs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pwd
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from kuaiche.services import SERVICES
from shared.auth import Role, issue_token
from shared.bus.kafka import KafkaBus
from shared.events.topics import dead_letter_topic
from tests.conftest import (
    COMMANDER,
    REQUIRE_INTEGRATION,
    SECRET,
    create_database,
    make_settings,
    start_service,
    wait_until,
)
from tests.support.ports import free_port
from tests.support.serving import served

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "deploy" / "gateway" / "templates"
CONSOLE = ROOT / "console"
BINCHENG = "371602"
ELSEWHERE = "https://console.example.gov.cn"  # a frontend on another origin (KUAICHE_CORS_ORIGINS)
# What the official image's environment holds besides ours (never substituted: filtered out).
IMAGE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOSTNAME": "gateway",
    "HOME": "/root",
    "NGINX_VERSION": "1.30.6",
    "PKG_RELEASE": "1",
    "NGINX_ENVSUBST_FILTER": "^KUAICHE_",
}


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        if REQUIRE_INTEGRATION:
            pytest.fail("nginx is not installed (.ci/run installs Debian's nginx-light)")
        pytest.skip("nginx not installed; apt-get install nginx-light")
    return found


# --------------------------------------------------------------- the image's template rendering
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def envsubst(text: str, env: Mapping[str, str], names: set[str]) -> str:
    """GNU `envsubst SHELL-FORMAT`: `$NAME` / `${NAME}` replaced for the listed names only."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return env[name] if name in names else match.group(0)

    return _VARIABLE.sub(replace, text)


def render_templates(templates: Path, output: Path, env: Mapping[str, str]) -> list[Path]:
    """20-envsubst-on-templates.sh: every `*.template` under `templates` to the same relative
    path under `output` without the suffix, substituting the defined variables whose names
    match NGINX_ENVSUBST_FILTER (awk's `name ~ /filter/`: a search, empty matches all)."""
    pattern = re.compile(env.get("NGINX_ENVSUBST_FILTER", ""))
    names = {name for name in env if pattern.search(name)}
    written = []
    for template in sorted(templates.rglob("*.template")):
        target = output / template.relative_to(templates).with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(envsubst(template.read_text(encoding="utf-8"), env, names), "utf-8")
        written.append(target)
    return written


def nginx_conf(prefix: Path) -> str:
    """The official image's /etc/nginx/nginx.conf, for a temporary prefix: no fixed log, pid or
    temp paths, and a worker user that can read the test's files when run as root."""
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temp = prefix / "temp"
    return f"""{user}
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    keepalive_timeout 65;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include conf.d/*.conf;
}}
"""


def prepare(prefix: Path, upstreams: Mapping[str, str], console: Path, port: int) -> Path:
    """The prefix of an nginx run: the rendered templates and the nginx.conf; returns it."""
    env = {
        **IMAGE_ENV,
        "KUAICHE_GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "KUAICHE_CONSOLE_ROOT": str(console),
        **{f"KUAICHE_{name.upper()}_UPSTREAM": at for name, at in upstreams.items()},
    }
    (prefix / "temp").mkdir(parents=True, exist_ok=True)
    rendered = render_templates(TEMPLATES, prefix / "conf.d", env)
    assert [p.name for p in rendered] == ["default.conf"]
    text = rendered[0].read_text(encoding="utf-8")
    assert "${" not in text and "$host" in text and "$uri" in text  # nginx's own stay
    (prefix / "nginx.conf").write_text(nginx_conf(prefix), encoding="utf-8")
    return prefix / "nginx.conf"


OUTPUT = "nginx.out"


def logged(prefix: Path) -> str:
    """What nginx has logged so far (access and error log), waiting for a request's line."""
    return (prefix / OUTPUT).read_text(encoding="utf-8", errors="replace")


@contextlib.asynccontextmanager
async def nginx_gateway(
    prefix: Path, upstreams: Mapping[str, str], console: Path
) -> AsyncIterator[str]:
    """nginx with the gateway's templates rendered for `upstreams` ({service: host:port}),
    serving `console`; yields its base URL. What nginx writes to stdout (the access log) and
    stderr (the error log) goes to `prefix / OUTPUT`."""
    binary = nginx_binary()
    port = free_port()
    conf = prepare(prefix, upstreams, console, port)
    with (prefix / OUTPUT).open("w+b") as log:
        process = await asyncio.create_subprocess_exec(
            binary, "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr",
            "-g", f"daemon off; pid {prefix / 'nginx.pid'};",
            stdout=log, stderr=log,
        )  # fmt: skip

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")

        async def listening() -> bool:
            if process.returncode is not None:
                raise AssertionError(f"nginx exited {process.returncode}: {output()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return False
            writer.close()
            return True

        try:
            await wait_until(listening, timeout=10, what="nginx to listen")
            yield f"http://127.0.0.1:{port}"
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            problems = [line for line in output().splitlines() if "[emerg]" in line]
            assert not problems, problems


@pytest.fixture
def console(tmp_path: Path) -> Path:
    """The real console/ when it is there (with its installed packages), else a stand-in."""
    if (CONSOLE / "index.html").is_file() and (CONSOLE / "node_modules").is_dir():
        return CONSOLE
    folder = tmp_path / "console"
    (folder / "node_modules" / "echarts" / "dist").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>挂图作战</title>", encoding="utf-8")
    (folder / "node_modules/echarts/dist/echarts.esm.min.js").write_text("// x\n" * 2000)
    return folder


def node_module_file(console: Path) -> str:
    dist = console / "node_modules" / "echarts" / "dist"
    chosen = next(p for p in sorted(dist.glob("*.js")) if p.stat().st_size > 2048)
    return "/" + str(chosen.relative_to(console))


# --------------------------------------------------------------- nginx alone
async def test_the_gateway_serves_the_console_and_speaks_problem_json_for_itself(
    tmp_path: Path, console: Path
) -> None:
    """Without services: the console, its caching, 404 for an unknown prefix, and nginx's own
    refusals (a body over 25 MiB, a service that does not answer) as problem+json."""
    dead = {name: f"127.0.0.1:{free_port()}" for name in SERVICES}
    prefix = tmp_path / "nginx"
    async with nginx_gateway(prefix, dead, console) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            page = await client.get("/")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert page.text == (console / "index.html").read_text(encoding="utf-8")
            assert page.headers["cache-control"] == "no-cache"
            assert (await client.get("/index.html")).text == page.text
            # revalidation: an unchanged page is a 304
            again = await client.get("/", headers={"If-None-Match": page.headers["etag"]})
            assert again.status_code == 304

            module = await client.get(node_module_file(console))
            assert module.status_code == 200
            assert module.headers["cache-control"] == "max-age=86400"
            assert "javascript" in module.headers["content-type"]
            assert module.headers.get("content-encoding") == "gzip"  # httpx decodes it
            assert (await client.get("/node_modules/nothing.js")).status_code == 404

            assert (await client.get("/unknown/v1/projects")).status_code == 404
            assert (await client.get("/registryx/v1/regions")).status_code == 404

            # the stream's token (EventSource sends it in the query) stays out of both logs,
            # though the request is logged, here refused since the service does not answer
            token = issue_token(SECRET, role=Role.COMMANDER)
            for query in (f"access_token={token}", f"after=7&access%5Ftoken={token}"):
                refused = await client.get(f"/notifications/v1/stream?{query}")
                assert refused.status_code == 502
            await client.get("/registry/v1/projects?q=%E6%BB%A8&limit=5")
            await wait_until(
                lambda: _now(logged(prefix).count('"GET /') >= 3),
                timeout=10,
                what="nginx's access log lines",
            )
            log = logged(prefix)
            assert token not in log and token.split(".")[2] not in log, log
            assert log.count('"GET /notifications/v1/stream?[token redacted] HTTP/1.1" 502') == 2
            assert '"GET /registry/v1/projects?q=%E6%BB%A8&limit=5 HTTP/1.1" 502' in log

            down = await client.get("/scoring/readyz")
            assert down.status_code == 502
            assert down.headers["content-type"] == "application/problem+json"
            assert down.json()["status"] == 502 and "/scoring" in down.json()["detail"]

            huge = await client.post(
                "/registry/v1/projects/import",
                content=b"x" * (25 * 1024 * 1024 + 1),
                headers={"Content-Type": "application/octet-stream"},
            )
            assert huge.status_code == 413
            assert huge.headers["content-type"] == "application/problem+json"
            assert huge.json() == {
                "type": "about:blank",
                "title": "Payload too large",
                "status": 413,
                "detail": "the body is larger than 26214400 bytes",
            }


# --------------------------------------------------------------- in front of the services
def on_run_topics(definition: Any, run: str) -> Any:
    topic = {t: t.replace("kuaiche.", f"kuaiche.gw.{run}.", 1) for t in [definition.topic]}
    topic.update({t: t.replace("kuaiche.", f"kuaiche.gw.{run}.", 1) for t in definition.subscribes})
    return dataclasses.replace(
        definition,
        topic=topic[definition.topic],
        subscribes={topic[t]: f for t, f in definition.subscribes.items()},
        consumer=definition.consumer and f"{definition.consumer}-{run}",
        jobs=lambda rt: {},
    )


@contextlib.asynccontextmanager
async def five_services(tmp_path: Path, postgres: str, kafka: str) -> AsyncIterator[dict[str, str]]:
    """Every service on its own PostgreSQL database and the run's Kafka topics, each served on
    a real port; the registry's relay and the notifications consumer run (the stream's path)."""
    run = uuid.uuid4().hex[:10]
    admin = KafkaBus(kafka)
    await admin.start()
    topics = [f"kuaiche.gw.{run}.{name}" for name in SERVICES]
    await admin.ensure_topics([t for x in topics for t in (x, dead_letter_topic(x))])
    await admin.stop()
    urls: dict[str, str] = {}
    async with contextlib.AsyncExitStack() as stack:
        for name, definition in SERVICES.items():
            settings = make_settings(
                name, await create_database(postgres), tmp_path / name, kafka=kafka
            ).model_copy(update={"cors_origins": [ELSEWHERE]})
            worker = name in ("registry", "notifications")
            app, lifespan = await start_service(
                on_run_topics(definition, run), settings, with_worker=worker
            )
            stack.push_async_callback(lifespan.__aexit__, None, None, None)
            urls[name] = await stack.enter_async_context(served(app))
        yield urls


async def read_events(url: str, into: list[tuple[float, str]], **kwargs: Any) -> None:
    """Every line of an SSE answer with the time it arrived, until cancelled."""
    async with httpx.AsyncClient(timeout=None) as client:
        async with client.stream("GET", url, **kwargs) as answer:
            into.append((time.monotonic(), f"status {answer.status_code}"))
            into.append((time.monotonic(), f"type {answer.headers.get('content-type')}"))
            into.append((time.monotonic(), f"encoding {answer.headers.get('content-encoding')}"))
            async for line in answer.aiter_lines():
                into.append((time.monotonic(), line))


def arrival(lines: list[tuple[float, str]], needle: str) -> float | None:
    return next((at for at, line in lines if line.startswith("data:") and needle in line), None)


async def test_the_gateway_in_front_of_the_five_services(
    tmp_path: Path, postgres_server: str, kafka_bootstrap: str, console: Path
) -> None:
    async with five_services(tmp_path, postgres_server, kafka_bootstrap) as urls:
        upstreams = {name: url.removeprefix("http://") for name, url in urls.items()}
        prefix = tmp_path / "nginx"
        async with (
            nginx_gateway(prefix, upstreams, console) as base,
            httpx.AsyncClient(base_url=base, timeout=60) as gateway,
            httpx.AsyncClient(timeout=60) as direct,
        ):
            # each prefix reaches its service, stripped
            for name, url in urls.items():
                for path in ("/livez", "/readyz", "/openapi.json"):
                    via = await gateway.get(f"/{name}{path}")
                    assert via.status_code == 200, (name, path, via.text)
                    assert via.json() == (await direct.get(f"{url}{path}")).json(), (name, path)
            regions = await gateway.get("/registry/v1/regions", headers=COMMANDER)
            assert regions.status_code == 200
            assert (
                regions.json()
                == (await direct.get(f"{urls['registry']}/v1/regions", headers=COMMANDER)).json()
            )
            assert len(regions.json()["divisions"]) == 10
            stripped = await gateway.get("/registry/registry/v1/regions", headers=COMMANDER)
            assert stripped.status_code == 404
            assert stripped.headers["content-type"] == "application/problem+json"
            # a redirect the service makes (a trailing slash) stays under the prefix
            slash = await gateway.get("/registry/v1/projects/", headers=COMMANDER)
            assert slash.status_code == 307, slash.text
            assert slash.headers["location"] == f"{base}/registry/v1/projects"
            # a frontend elsewhere: the preflight and the answer's CORS headers pass nginx
            preflight = await gateway.options(
                "/scoring/v1/publications",
                headers={
                    "Origin": ELSEWHERE,
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "authorization",
                },
            )
            assert preflight.status_code == 200, preflight.text
            assert preflight.headers["access-control-allow-origin"] == ELSEWHERE
            cross = await gateway.get(
                "/registry/v1/regions", headers={**COMMANDER, "Origin": ELSEWHERE}
            )
            assert cross.headers["access-control-allow-origin"] == ELSEWHERE
            assert (
                "access-control-allow-origin"
                not in (
                    await gateway.get(
                        "/registry/v1/regions", headers={"Origin": "https://evil.example"}
                    )
                ).headers
            )
            unauthorised = await gateway.get("/scoring/v1/publications")
            assert unauthorised.status_code == 401
            assert unauthorised.headers["www-authenticate"] == "Bearer"

            # the live stream through nginx and directly, side by side
            stream_token = issue_token(SECRET, role=Role.COMMANDER)
            via_gateway: list[tuple[float, str]] = []
            straight: list[tuple[float, str]] = []
            readers = [
                asyncio.create_task(
                    read_events(
                        f"{base}/notifications/v1/stream",
                        via_gateway,
                        params={"access_token": stream_token},
                        headers={"Accept-Encoding": "gzip"},
                    )
                ),
                asyncio.create_task(
                    read_events(
                        f"{urls['notifications']}/v1/stream",
                        straight,
                        params={"access_token": stream_token},
                    )
                ),
            ]
            try:
                # the opening comment comes through at once: nothing is held back
                await wait_until(
                    lambda: _now(any(line.startswith(":") for _, line in via_gateway)),
                    timeout=10,
                    what="the stream's first comment through nginx",
                )
                assert [line for _, line in via_gateway[:3]] == [
                    "status 200",
                    "type text/event-stream; charset=utf-8",
                    "encoding None",  # never compressed (a compressor holds bytes back)
                ]

                # a write through the gateway: body, Idempotency-Key, Location under the prefix
                key = str(uuid.uuid4())
                body = {
                    "name": f"网关联调项目-{key[:8]}",
                    "county": BINCHENG,
                    "track": "implementation",
                    "stage": "reserve",
                    "total_investment": "12345.67",
                    "leader": "张三",
                }
                headers = {**COMMANDER, "Idempotency-Key": key}
                created = await gateway.post("/registry/v1/projects", json=body, headers=headers)
                assert created.status_code == 201, created.text
                project = created.json()
                assert project["total_investment"] == "12345.67"
                assert created.headers["location"] == f"/registry/v1/projects/{project['id']}"
                again = await gateway.post("/registry/v1/projects", json=body, headers=headers)
                assert again.status_code == 201 and again.json() == project
                assert again.headers["idempotent-replayed"] == "true"
                assert again.headers["location"] == created.headers["location"]
                read = await gateway.get(created.headers["location"], headers=COMMANDER)
                assert read.status_code == 200 and read.json()["name"] == body["name"]
                # a query in Chinese passes through as sent
                found = await gateway.get(
                    "/registry/v1/projects", params={"q": body["name"]}, headers=COMMANDER
                )
                assert [p["id"] for p in found.json()["items"]] == [project["id"]]

                # the event reaches the stream through nginx while the stream is still open, as
                # it reaches it directly: a buffering proxy would hold a few hundred bytes back
                # until its buffer filled or the stream ended (no timing compared: the two
                # connections are served in turn, either may be first)
                await wait_until(
                    lambda: _now(
                        arrival(via_gateway, project["id"]) is not None
                        and arrival(straight, project["id"]) is not None
                    ),
                    timeout=60,
                    interval=0.1,
                    what="the project's event on the stream, through nginx and directly",
                )
            finally:
                for reader in readers:
                    reader.cancel()
                await asyncio.gather(*readers, return_exceptions=True)
            # the stream was logged, its token not (nginx logs a request once it has ended)
            await wait_until(
                lambda: _now("/notifications/v1/stream?[token redacted]" in logged(prefix)),
                timeout=10,
                what="the stream's access log line",
            )
            assert stream_token not in logged(prefix)

            # a body of the ledger import's size (20 MiB) passes nginx to the service, which
            # answers for it (here: not a spreadsheet)
            big = await gateway.post(
                "/registry/v1/projects/import",
                files={"file": ("ledger.xlsx", b"\0" * (20 * 1024 * 1024), "application/zip")},
                headers=COMMANDER,
            )
            assert big.status_code in (400, 409, 415, 422), big.text
            assert big.headers["content-type"] == "application/problem+json"
            assert big.json()["status"] == big.status_code


async def _now(value: Any) -> Any:
    return value


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """httpx honours *_proxy variables: the test's requests go straight to 127.0.0.1."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    yield
