"""`kuaiche`: run the suite, mint development tokens, migrate.

kuaiche up [--demo] [--data-dir DIR]      every service, one process, each on its own port,
                                          and all of them with the console on :8000
kuaiche token --role ROLE [--county CODE] [--department NAME] [--data-dir DIR]
kuaiche migrate [--service NAME]
kuaiche serve NAME [--host H] [--port P]   one service's API (distributed stack)
kuaiche worker NAME                        one service's relay and consumers
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import prometheus_client
import uvicorn
from starlette.types import ASGIApp

from kuaiche.gateway import build_gateway
from kuaiche.services import SERVICES
from shared.auth import Role, issue_token
from shared.bus.base import Bus
from shared.bus.inprocess import InProcessBus
from shared.config import CommonEnv, ServiceSettings, jwt_secret_for, load_settings
from shared.errors import KuaicheError
from shared.heap import freeze_startup
from shared.http.app import build_app
from shared.migrations import upgrade
from shared.regions import load_region_table
from shared.runtime import Runtime, open_runtime, run_worker
from shared.service import ServiceDefinition

log = logging.getLogger("kuaiche")


class RedactTokens(logging.Filter):
    """Keep tokens out of access logs: a browser's `EventSource` sends its token in the query
    (`/v1/stream?access_token=...`), and uvicorn logs every request's path with its query."""

    _TOKEN = re.compile(r"(access_token=)[^&\s]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


class _Server(uvicorn.Server):
    """uvicorn server whose signals are handled once for all servers by `up`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _selected(name: str | None) -> list[ServiceDefinition]:
    if name is None:
        return list(SERVICES.values())
    if name not in SERVICES:
        raise SystemExit(f"unknown service {name!r}; known: {', '.join(SERVICES)}")
    return [SERVICES[name]]


async def migrate(names: list[ServiceDefinition], data_dir: Path | None = None) -> None:
    for definition in names:
        settings = load_settings(definition.name, data_dir=data_dir)
        await upgrade(definition, settings.database_url)
        print(f"migrated {definition.name}", flush=True)


def _install_stop(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


# How long a stop waits for open requests: a live stream (notifications' SSE) never ends by
# itself, so without a bound Ctrl-C would wait for every dashboard to hang up.
GRACE_SECONDS = 5


async def load_demos(
    definitions: list[ServiceDefinition], settings: dict[str, ServiceSettings], bus: Bus | None
) -> None:
    """Each service's demo, in SERVICES order: each one's events are published before the
    next one's loader catches up on them (factors and issues build on the registry's)."""
    for d in definitions:
        if d.load_demo is not None:
            runtime = await open_runtime(d, settings[d.name], bus, same_thread=True)
            try:
                print(await d.load_demo(runtime), flush=True)
                await runtime.publish_all()
            finally:
                await runtime.close()


async def up(demo: bool, data_dir: Path | None) -> None:
    definitions = list(SERVICES.values())
    settings = {d.name: load_settings(d.name, data_dir=data_dir) for d in definitions}
    embedded = all(s.kafka_bootstrap is None for s in settings.values())
    data = next(iter(settings.values())).data_dir
    bus: Bus | None = InProcessBus(log_path=data / "bus.sqlite3") if embedded else None
    if bus is not None:
        await bus.start()
    await migrate(definitions, data_dir)
    if demo:
        await load_demos(definitions, settings, bus)
    apps = {d.name: build_app(d, settings[d.name], bus=bus, with_worker=True) for d in definitions}
    common = CommonEnv()
    listeners: list[tuple[ASGIApp, str, int]] = [
        (apps[d.name], settings[d.name].host, settings[d.name].port) for d in definitions
    ]
    # The gateway last: one origin for the console and every API (kuaiche/gateway.py).
    listeners.append((build_gateway(apps), common.gateway_host, common.gateway_port))
    servers = [
        _Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=GRACE_SECONDS,
            )
        )
        for app, host, port in listeners
    ]
    stop = asyncio.Event()
    _install_stop(stop)
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            for t in tasks:
                if t.done() and t.exception():
                    raise t.exception()  # type: ignore[misc]
            raise SystemExit("a service failed to start (is its port taken?)")
        await asyncio.sleep(0.05)
    freeze_startup()
    any_settings = next(iter(settings.values()))
    print(
        "\nkuaiche is up" + (" (embedded: SQLite + in-process bus)" if embedded else ""), flush=True
    )
    for d in definitions:
        s = settings[d.name]
        print(f"  {d.name:<14} http://{s.host}:{s.port}   docs: http://{s.host}:{s.port}/docs")
    print(f"  data dir       {any_settings.data_dir}")
    token = issue_token(
        any_settings.jwt_secret.get_secret_value(), role=Role.COMMANDER, subject="commander"
    )
    print(f"\ncommander token (Authorization: Bearer ...):\n{token}", flush=True)
    console = f"http://{common.gateway_host}:{common.gateway_port}"
    print(f"\nconsole 挂图作战 (every API under {console}/<service>/...):", flush=True)
    print(f"{console}/#token={token}\n\nCtrl-C stops.", flush=True)
    await stop.wait()
    print("stopping...", flush=True)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    if bus is not None:
        await bus.stop()


async def serve(name: str, host: str | None, port: int | None) -> None:
    definition = _selected(name)[0]
    settings = load_settings(definition.name)
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(definition, settings, on_ready=_started),
            host=host or settings.host,
            port=port or settings.port,
            log_level="info",
            proxy_headers=True,
            timeout_graceful_shutdown=GRACE_SECONDS,
        )
    )
    await server.serve()


async def _started(runtime: Runtime) -> None:
    freeze_startup()


async def worker(name: str, metrics_port: int | None = None) -> None:
    definition = _selected(name)[0]
    settings: ServiceSettings = load_settings(definition.name)
    runtime = await open_runtime(definition, settings)
    freeze_startup()
    if metrics_port is not None:  # its consumers' lag is known here only
        prometheus_client.start_http_server(
            metrics_port, addr=settings.host, registry=runtime.metrics.registry
        )
    stop = asyncio.Event()
    _install_stop(stop)
    print(f"{definition.name} worker running; SIGTERM stops", flush=True)
    try:
        await run_worker(runtime, stop)
    finally:
        await runtime.close()


async def scoring_rebuild(data_dir: Path | None, force: bool) -> None:
    """Replay the upstream topics from the beginning into a fresh scoring read model, which
    then takes over from the running worker (services/scoring/readmodel.py)."""
    import getpass

    from services.scoring import readmodel

    definition = SERVICES["scoring"]
    runtime = await open_runtime(definition, load_settings(definition.name, data_dir=data_dir))
    try:
        epoch = await readmodel.rebuild(runtime, f"cli:{getpass.getuser()}", force=force)
    finally:
        await runtime.close()
    print(f"scoring: read model rebuilt as epoch {epoch.number} from {epoch.events} messages")


def token(
    role: str,
    county: str | None,
    department: str | None,
    subject: str | None,
    data_dir: Path | None,
    days: int,
) -> str:
    import datetime as dt

    common = CommonEnv()
    if data_dir is not None:
        common.data_dir = data_dir
    if county:
        county = load_region_table(common.regions_file).resolve(county).code
    return issue_token(
        jwt_secret_for(common),
        role=Role(role),
        subject=subject,
        county=county,
        department=department,
        ttl=dt.timedelta(days=days),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="kuaiche", description="快车道 key-project command platform"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="run every service in one process")
    p_up.add_argument("--demo", action="store_true", help="load the Binzhou 2020 demo scenario")
    p_up.add_argument(
        "--data-dir", type=Path, help="embedded state (default .kuaiche or $KUAICHE_DATA_DIR)"
    )
    p_tok = sub.add_parser("token", help="print a signed development JWT")
    p_tok.add_argument("--role", required=True, choices=[r.value for r in Role])
    p_tok.add_argument("--county", help="division code (county role)")
    p_tok.add_argument("--department", help="department name (department role)")
    p_tok.add_argument("--subject", help="who the token is for")
    p_tok.add_argument("--days", type=int, default=30, help="validity in days")
    p_tok.add_argument("--data-dir", type=Path)
    p_mig = sub.add_parser("migrate", help="Alembic upgrade for every service (or one)")
    p_mig.add_argument("--service", choices=list(SERVICES))
    p_mig.add_argument("--data-dir", type=Path)
    p_serve = sub.add_parser("serve", help="one service's HTTP API")
    p_serve.add_argument("service", choices=list(SERVICES))
    p_serve.add_argument("--host")
    p_serve.add_argument("--port", type=int)
    p_work = sub.add_parser("worker", help="one service's outbox relay and consumers")
    p_work.add_argument("service", choices=list(SERVICES))
    p_work.add_argument(
        "--metrics-port", type=int, help="serve this worker's /metrics (consumer lag) on this port"
    )
    p_scoring = sub.add_parser("scoring", help="scoring administration")
    scoring_sub = p_scoring.add_subparsers(dest="scoring_command", required=True)
    p_rebuild = scoring_sub.add_parser(
        "rebuild", help="replay every upstream topic into a fresh read model that then takes over"
    )
    p_rebuild.add_argument("--data-dir", type=Path)
    p_rebuild.add_argument(
        "--force", action="store_true", help="abandon a rebuild still marked as running"
    )
    args = parser.parse_args(argv)
    # `up` is a person's command: it prints what they need (URLs, token, what the demo loaded)
    # and only warnings besides; the distributed commands log at INFO for the operator.
    logging.basicConfig(
        level=logging.WARNING if args.command == "up" else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())

    try:
        if args.command == "up":
            asyncio.run(up(args.demo, args.data_dir))
        elif args.command == "token":
            try:
                print(
                    token(
                        args.role,
                        args.county,
                        args.department,
                        args.subject,
                        args.data_dir,
                        args.days,
                    )
                )
            except KuaicheError as exc:  # an unknown county, a county token without one...
                print(f"kuaiche: {exc.detail}", file=sys.stderr)
                raise SystemExit(2) from None
        elif args.command == "migrate":
            asyncio.run(migrate(_selected(args.service), args.data_dir))
        elif args.command == "serve":
            asyncio.run(serve(args.service, args.host, args.port))
        elif args.command == "worker":
            asyncio.run(worker(args.service, args.metrics_port))
        elif args.command == "scoring":
            try:
                asyncio.run(scoring_rebuild(args.data_dir, args.force))
            except KuaicheError as exc:  # a rebuild already running
                print(f"kuaiche: {exc.detail}", file=sys.stderr)
                raise SystemExit(1) from None
    except KeyboardInterrupt:
        pass
    except ValueError as exc:  # settings refused (e.g. a weak secret in production)
        print(f"kuaiche: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
