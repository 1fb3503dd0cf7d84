"""docker-compose.yml is a valid Compose file, and its gateway (nginx, deploy/gateway/) routes
every service the code defines.

No Docker engine runs here, so what can be checked is checked: the file against the Compose
Specification's own JSON schema (vendored, tests/schemas/README.md), and the gateway's template
against the services and the compose file. The template itself runs under Debian's nginx in
tests/integration/test_gateway_nginx.py."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from kuaiche.services import SERVICES
from shared.config import SERVICE_PORTS

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "deploy" / "gateway"
TEMPLATE = GATEWAY / "templates" / "default.conf.template"


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def compose_validator() -> Any:
    schema = json.loads((ROOT / "tests/schemas/compose-spec.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft-07/schema"
    return jsonschema_rs.Draft7Validator(schema)


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    errors = [f"{e.instance_path}: {e.message}" for e in compose_validator().iter_errors(compose())]
    assert not errors, errors


def test_the_compose_schema_check_refuses_what_compose_would() -> None:
    """The validation is not vacuous: a misspelt key, a wrong type, a bad condition fail."""
    validator = compose_validator()
    for spoil in (
        lambda c: c["services"]["gateway"].update(restart_policy="always"),  # not a key
        lambda c: c["services"]["gateway"].update(ports=8000),  # a list
        lambda c: c["services"]["gateway"]["depends_on"]["registry-api"].update(
            condition="service_ready"
        ),
        lambda c: c.update(service={}),  # top-level typo
    ):
        spoilt = copy.deepcopy(compose())
        spoil(spoilt)
        assert not validator.is_valid(spoilt)


# --- the gateway ------------------------------------------------------------------------------


def template() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def dockerfile_env() -> dict[str, str]:
    """The ENV defaults of deploy/gateway/Dockerfile (one `ENV a=b \\` block)."""
    text = (GATEWAY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for pair in line[4:].split():
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def test_the_gateway_has_a_location_and_an_upstream_for_every_service_and_no_other() -> None:
    text = template()
    upstreams = dict(re.findall(r"upstream kuaiche_(\w+) \{\s*server \$\{(\w+)\};", text))
    assert upstreams == {name: f"KUAICHE_{name.upper()}_UPSTREAM" for name in SERVICES}
    locations = re.findall(
        r"location /(\w+)/ \{\s*set \$kuaiche_prefix /(\w+);\s*proxy_pass http://kuaiche_(\w+)/;",
        text,
    )
    assert sorted(locations) == sorted((name, name, name) for name in SERVICES)
    # the live stream has its own, unbuffered, uncompressed location
    stream = re.search(r"location = /notifications/v1/stream \{([^}]*)\}", text)
    assert stream, "the SSE stream needs its own location"
    for directive in ("proxy_buffering off;", "gzip off;", "proxy_read_timeout 1h;"):
        assert directive in stream.group(1)
    assert "proxy_pass http://kuaiche_notifications/v1/stream;" in stream.group(1)


def test_the_template_names_only_kuaiche_variables_in_capitals() -> None:
    """The image substitutes defined KUAICHE_* variables only; nginx's own are lower-case.
    Every variable the template needs is defined by the Dockerfile and by compose."""
    text = template()
    capitals = {a or b for a, b in re.findall(r"\$\{([A-Za-z_]\w*)\}|\$([A-Z_][A-Z0-9_]*)\b", text)}
    assert all(name.startswith("KUAICHE_") for name in capitals), capitals
    env = compose()["services"]["gateway"]["environment"]
    defaults = dockerfile_env()
    assert capitals <= set(env) and capitals <= set(defaults), capitals - set(env)
    assert env["NGINX_ENVSUBST_FILTER"] == defaults["NGINX_ENVSUBST_FILTER"] == "^KUAICHE_"
    for name in capitals:
        assert str(env[name]) == defaults[name], name


def test_compose_runs_the_gateway_in_front_of_every_api() -> None:
    services = compose()["services"]
    gateway = services["gateway"]
    assert gateway["build"] == {"context": ".", "dockerfile": "deploy/gateway/Dockerfile"}
    assert (ROOT / gateway["build"]["dockerfile"]).is_file()
    env = gateway["environment"]
    listen = env["KUAICHE_GATEWAY_LISTEN"]
    assert any(str(p).endswith(f":{listen}") for p in gateway["ports"])
    for name in SERVICES:
        api = services[f"{name}-api"]
        port = SERVICE_PORTS[name]
        assert api["command"][-2:] == ["--port", str(port)]
        assert env[f"KUAICHE_{name.upper()}_UPSTREAM"] == f"{name}-api:{port}"
        assert gateway["depends_on"][f"{name}-api"]["condition"] == "service_healthy"
        assert "healthcheck" in api


def test_the_gateway_image_pins_its_bases_and_builds_the_console_from_the_lockfile() -> None:
    text = (GATEWAY / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert [b.split(":")[0] for b in bases] == ["node", "nginx"]
    for base in bases:
        assert re.search(r":\d+(\.\d+)*-", base), f"{base}: pin a version"
    assert re.search(r"^FROM nginx:\d+\.\d+\.\d+-", text, re.MULTILINE), "pin nginx exactly"
    assert "npm ci" in text
    assert "COPY console/package.json console/package-lock.json" in text
    assert "/etc/nginx/templates/" in text
    ignore = (GATEWAY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "console/node_modules/" in ignore.splitlines()
