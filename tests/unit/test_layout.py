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


# --- one module set for every service -----------------------------------------------------

REQUIRED = {
    "__init__.py",
    "main.py",
    "api.py",
    "service.py",
    "queries.py",
    "domain",
    "models.py",
    "schemas.py",
    "access.py",
    "demo",
    "migrations",
}
WHERE_NEEDED = {"config.py", "handlers.py"}
# The only modules a service has beyond the set, each with its job.
EXTRAS = {
    "registry": {"importing"},  # the ledger import: file reader, column table, row mapping
    # the read-model epochs the worker follows and a rebuild replaces; the standings it keeps and
    # what a batch marks for them
    "scoring": {"readmodel.py", "standings.py", "marks.py"},
    # the adapters a message leaves by (webhook, robots) and the dispatcher that tries them
    "notifications": {"channels", "delivery.py"},
}
MAX_LINES = 600


def _service_dirs() -> list[Path]:
    return sorted(p for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())


def _entries(package: Path) -> set[str]:
    return {
        p.name
        for p in package.iterdir()
        if p.name != "__pycache__" and (p.suffix == ".py" or (p / "__init__.py").exists())
    }


def test_every_service_has_the_module_set_and_nothing_else() -> None:
    for package in _service_dirs():
        entries = _entries(package)
        missing = REQUIRED - entries
        assert not missing, f"services/{package.name} lacks {sorted(missing)}"
        unknown = entries - REQUIRED - WHERE_NEEDED - EXTRAS.get(package.name, set())
        assert not unknown, (
            f"services/{package.name} has {sorted(unknown)}: give each job its module in the set "
            "(tests/unit/test_layout.py lists them)"
        )
        for sub in ("domain", "demo", "migrations"):
            assert (package / sub / "__init__.py").exists(), f"services/{package.name}/{sub}"


def test_demo_data_lives_in_files_beside_the_loader() -> None:
    for package in _service_dirs():
        demo = package / "demo"
        data = [p for p in demo.iterdir() if p.suffix in (".json", ".csv")]
        assert data, f"services/{package.name}/demo has no data files"
        for path in demo.rglob("*.py"):
            assert len(path.read_text(encoding="utf-8").splitlines()) <= 300, (
                f"{path.relative_to(ROOT)}: the demo's data belongs in its JSON/CSV files"
            )


def test_handlers_exist_exactly_where_a_service_consumes_and_config_where_it_reads_settings() -> None:
    for name, definition in SERVICES.items():
        package = ROOT / "services" / name
        assert (package / "handlers.py").exists() == bool(definition.subscribes), name
        has_config = (package / "config.py").exists()
        assert has_config == (definition.load_config() is not None), name


def test_no_file_in_services_or_shared_is_over_600_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for top in ("services", "shared")
        for path in (ROOT / top).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, long


def test_use_cases_never_read_settings_themselves() -> None:
    """Settings reach use cases through the runtime (`Runtime.config`): only a service's
    main.py names its settings loader."""
    offences = [
        f"{path.relative_to(ROOT)}"
        for package in _service_dirs()
        for path in package.rglob("*.py")
        if path.name not in ("main.py", "config.py")
        and "load_config" in path.read_text(encoding="utf-8")
    ]
    assert not offences, offences


# --- who consumes what: declared once, documented in docs/events.md -----------------------


def _documented_consumers() -> dict[str, tuple[str, set[str]]]:
    text = (ROOT / "docs/events.md").read_text(encoding="utf-8")
    section = text.split("## Topics and their consumers", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, set[str]]] = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|", line)
        if match:
            topic, producer, consumers = match.groups()
            rows[topic] = (producer, {c.strip() for c in consumers.split(",")} - {"—"})
    return rows


def test_the_events_guide_lists_who_consumes_each_topic_as_declared() -> None:
    declared = {
        d.topic: (name, {other for other, o in SERVICES.items() if d.topic in o.subscribes})
        for name, d in SERVICES.items()
    }
    assert _documented_consumers() == declared


def test_every_subscription_is_a_topic_some_service_publishes() -> None:
    published = {d.topic for d in SERVICES.values()}
    for name, definition in SERVICES.items():
        assert set(definition.subscribes) <= published, name
        assert definition.topic not in definition.subscribes, f"{name} consumes its own topic"


def test_the_embedded_default_starts_without_importing_the_kafka_client() -> None:
    """`kuaiche up` on the embedded default never talks to Kafka: aiokafka (a large import, a
    part of every start) is imported only when a Kafka bootstrap is configured."""
    result = subprocess.run(
        [sys.executable, "-c", "import sys, kuaiche.cli; print('aiokafka' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
