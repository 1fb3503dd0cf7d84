"""The layout tells the architecture: the compose file names every service and topic the code
expects, and no service imports another."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import yaml

from kuaiche.services import SERVICES
from shared.config import SERVICE_PORTS
from shared.events.topics import ALL_TOPICS, DOMAIN_TOPICS, dead_letter_topic

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_parses_and_has_the_infrastructure() -> None:
    services = compose()["services"]
    assert {"postgres", "kafka", "kafka-init"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]


def test_compose_runs_every_service_as_migrate_api_and_worker() -> None:
    services = compose()["services"]
    for name in SERVICES:
        migrate, api, worker = (services[f"{name}-{part}"] for part in ("migrate", "api", "worker"))
        assert migrate["command"] == ["kuaiche", "migrate", "--service", name]
        assert api["command"][:3] == ["kuaiche", "serve", name]
        assert worker["command"] == ["kuaiche", "worker", name]
        port = SERVICE_PORTS[name]
        assert f"{port}:{port}" in api["ports"]
        assert "healthcheck" in api
        for runner in (api, worker):
            assert (
                runner["depends_on"][f"{name}-migrate"]["condition"]
                == "service_completed_successfully"
            )
            assert (
                runner["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"
            )
        env = api["environment"]
        assert env[f"KUAICHE_{name.upper()}_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["KUAICHE_KAFKA_BOOTSTRAP"] and env["KUAICHE_ENVIRONMENT"] == "production"


def test_compose_creates_every_topic_the_code_uses() -> None:
    script = " ".join(compose()["services"]["kafka-init"]["entrypoint"])
    loop = re.search(r"for t in ([^;]+);", script)
    assert loop, "kafka-init creates topics in a `for t in ...` loop"
    created = set(loop.group(1).split())
    assert created == set(DOMAIN_TOPICS)
    assert '"$$t.dlq"' in script  # and each one's dead-letter topic
    assert set(ALL_TOPICS) == created | {dead_letter_topic(t) for t in created}
    assert "retention.ms=-1" in script


def test_postgres_init_creates_a_database_per_service() -> None:
    init = (ROOT / "deploy/postgres/init.sh").read_text(encoding="utf-8")
    for name in SERVICE_PORTS:
        assert re.search(rf"create_service_database\s+{name}\s+kuaiche_{name}\b", init)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_service_imports_another() -> None:
    """A service imports `shared` and itself, never another service (they talk by events)."""
    services_dir = ROOT / "services"
    names = {p.name for p in services_dir.iterdir() if (p / "__init__.py").exists()}
    offences = []
    for name in names:
        for path in (services_dir / name).rglob("*.py"):
            for module in _imported_modules(path):
                parts = module.split(".")
                other = parts[1] if parts[0] == "services" and len(parts) > 1 else parts[0]
                if other in names - {name} or (parts[0] == "kuaiche"):
                    offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offences, offences


def test_shared_imports_no_service() -> None:
    """import-linter's contract (pyproject.toml) holds: shared/ never imports a service."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
