"""Every service's OpenAPI keeps the conventions of docs/http.md, so a frontend or a generated
client learns one dialect: a new route that breaks one fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kuaiche.services import SERVICES
from shared.http.app import build_app
from shared.http.problems import PROBLEM_JSON
from tests.conftest import make_settings

METHODS = ("get", "post", "put", "patch", "delete")
# `*_to_date` is "year to date", an amount, not a date.
DATE_NAMES = re.compile(r"(_on|(?<!_to)_date|^date|^deadline|^previous_deadline|^use_by)$")
TIME_NAMES = re.compile(r"_at$")
COLOURS = {"blue", "yellow", "red"}


@pytest.fixture(scope="module", params=sorted(SERVICES))
def spec(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    settings = make_settings(name, f"sqlite+aiosqlite:///{tmp / 'db.sqlite3'}", Path(tmp))
    return build_app(SERVICES[name], settings).openapi()


def operations(spec: dict) -> Iterator[tuple[str, str, dict]]:
    for path, ops in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue  # health and metrics
        for method in METHODS:
            if method in ops:
                yield path, method, ops[method]


def resolve(spec: dict, schema: dict | None) -> dict:
    while schema and "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema or {}


def json_schema(op: dict, status: str) -> dict | None:
    return op["responses"].get(status, {}).get("content", {}).get("application/json", {}).get(
        "schema"
    )


def walk_properties(spec: dict, schema: dict, seen: set[str]) -> Iterator[tuple[str, dict]]:
    """Every (name, schema) of a property anywhere below `schema`."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return
        seen.add(name)
        schema = resolve(spec, schema)
    for name, prop in schema.get("properties", {}).items():
        yield name, prop
        yield from walk_properties(spec, prop, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from walk_properties(spec, schema[key], seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from walk_properties(spec, sub, seen)


def test_every_answer_is_a_named_model(spec: dict) -> None:
    """A free-form `object` tells a generated client nothing."""
    loose = [
        f"{method.upper()} {path}"
        for path, method, op in operations(spec)
        for status in op["responses"]
        if status.startswith("2")
        and (schema := json_schema(op, status)) is not None
        and "$ref" not in schema
    ]
    assert not loose, loose


def test_creates_answer_201_with_the_resource(spec: dict) -> None:
    for path, method, op in operations(spec):
        if "201" not in op["responses"]:
            continue
        # A creating POST, or a PUT that created what it names (create or replace).
        assert method in ("post", "put"), f"{method.upper()} {path}: 201 is a create's answer"
        resource = resolve(spec, json_schema(op, "201"))
        fields = set(resource.get("properties", {}))
        assert fields - {"id", "version"}, f"{path} answers {{id, version}}, not the resource"
        assert {"Location", "ETag"} <= set(op["responses"]["201"].get("headers", {}))


def test_every_list_is_items_and_total_with_limit_and_offset(spec: dict) -> None:
    for path, method, op in operations(spec):
        schema = json_schema(op, "200")
        if schema is None:
            continue
        assert schema.get("type") != "array", f"{method.upper()} {path}: a bare array"
        body = resolve(spec, schema)
        if body.get("properties", {}).get("items", {}).get("type") != "array":
            continue
        assert body["properties"].get("total", {}).get("type") == "integer", path
        query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        assert {"limit", "offset"} <= query, f"GET {path} pages without limit/offset"


def test_every_operation_documents_its_problems_as_problem_json(spec: dict) -> None:
    for path, method, op in operations(spec):
        statuses = {s for s in op["responses"] if s.isdigit() and int(s) >= 400}
        assert {"401", "403", "422", "503"} <= statuses, f"{method.upper()} {path}"
        for status in statuses:
            content = op["responses"][status].get("content", {})
            assert list(content) == [PROBLEM_JSON], f"{method.upper()} {path} {status}"


def test_request_decimals_are_strings_with_a_pattern(spec: dict) -> None:
    """A decimal that the schema lets be any string is refused by the API for "abc"."""
    for path, method, op in operations(spec):
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        for name, prop in walk_properties(spec, body.get("schema", {}), set()):
            kinds = {s.get("type") for s in prop.get("anyOf", [])}
            assert not {"number", "string"} <= kinds, (
                f"{method.upper()} {path}: {name} is a number or any string"
            )


def test_the_same_thing_has_the_same_shape_everywhere(spec: dict) -> None:
    """Business dates are ISO dates, instants date-times, colours one vocabulary."""
    schemas = spec["components"]["schemas"]
    for model, schema in schemas.items():
        for name, prop in walk_properties(spec, schema, {model}):
            variants = [prop, *prop.get("anyOf", [])]
            formats = {v.get("format") for v in variants if v.get("type") == "string"}
            if DATE_NAMES.search(name) and formats:
                assert formats == {"date"}, f"{model}.{name}: {formats}"
            if TIME_NAMES.search(name) and formats:
                assert formats == {"date-time"}, f"{model}.{name}: {formats}"
            if name == "colour":
                enum = {e for v in variants for e in resolve(spec, v).get("enum", [])}
                assert enum and enum <= COLOURS, f"{model}.{name}: {enum}"




def test_no_value_travels_as_a_float(spec: dict) -> None:
    """Money, quantities, rates and points are decimal strings; counts are integers."""
    floats: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            if kind == "number" or (isinstance(kind, list) and "number" in kind):
                floats.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(spec, "")
    assert not floats, floats
