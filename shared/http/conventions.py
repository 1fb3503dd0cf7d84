"""The one answer shape every service speaks, so a frontend learns one dialect:

- a creating POST answers 201 with the created resource, `Location` (its path) and `ETag`
  (its version, quoted): `created(response, location, version)`;
- a conditional write names the version it read in `If-Match`: `parse_if_match(header)`;
- a JSON answer kept rendered goes out as it is: `json_answer(rendered(model))`;
- a list answers `Page[T]` = `{items, total}` and pages with `limit` and `offset`; a long list
  may also page by key (`cursor`, answered with `next`: `encode_cursor`, `decode_cursor`);
- every error is RFC 9457 problem+json, and every operation documents the problem statuses it
  can answer (`document_conventions`, applied to every service's OpenAPI by `shared.http.app`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Response
from pydantic import BaseModel, Field, TypeAdapter

from shared.errors import InvalidInput, PreconditionRequired
from shared.http.problems import PROBLEM_JSON

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]


# A keyset position in a list ordered by (a UTC timestamp, an id): the timestamp in microseconds
# since the epoch, a dot, the id. Clients treat it as opaque. The pattern is the whole grammar,
# so a cursor the schema accepts is always a position (past the end: an empty page), and a
# malformed one is 422 like any other parameter that breaks its schema.
CURSOR_PATTERN = r"^[0-9]{1,16}\.[0-9A-Za-z-]{1,36}$"
Cursor = Annotated[
    str | None,
    Query(
        pattern=CURSOR_PATTERN,
        max_length=53,
        description="page after this position: the `next` of the previous page (not with offset)",
    ),
]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def encode_cursor(at: dt.datetime, key: str) -> str:
    """The cursor of the position just after the row (`at`, `key`)."""
    return f"{(at - _EPOCH) // dt.timedelta(microseconds=1)}.{key}"


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The (timestamp, id) a cursor that matches `CURSOR_PATTERN` names."""
    micros, key = cursor.split(".", 1)
    return _EPOCH + dt.timedelta(microseconds=int(micros)), key


class Page(BaseModel, Generic[T]):
    """One page of a list: the items and how many there are in all."""

    items: list[T]
    total: int = Field(ge=0, description="how many items match, over all pages")


def page_of(items: Sequence[T], limit: int, offset: int) -> list[T]:
    """One page of a list computed whole (a filter the database cannot run, ten divisions'
    cards); a query the database can page goes through `shared.db.paginate` instead."""
    return list(items[offset : offset + limit])


@functools.cache
def _adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def rendered(model: BaseModel) -> bytes:
    """`model`'s JSON exactly as FastAPI sends a route's `response_model` (pydantic's own
    serializer, by alias): for an answer kept rendered and sent as `json_answer`."""
    return _adapter(type(model)).dump_json(model, by_alias=True)


def json_answer(body: bytes) -> Response:
    """JSON rendered already (`rendered`): FastAPI sends a Response as it is, without validating
    and serializing it again; the route's `response_model` still documents it."""
    return Response(body, media_type="application/json")


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def created(response: Response, location: str, version: int) -> None:
    """Mark `response` as the answer to a create: 201, where the resource lives, its version."""
    response.status_code = 201
    response.headers["Location"] = location
    set_etag(response, version)


def parse_if_match(header: str | None, what: str = "the resource") -> int:
    """The version an `If-Match` header names (`"3"`, `W/"3"` or `3`); 428 without one."""
    if header is None or not header.strip():
        raise PreconditionRequired(f"If-Match with {what}'s version is required")
    text = header.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 9:  # versions fit an INTEGER
        raise InvalidInput(
            f"If-Match must be {what}'s version number",
            errors=[{"field": "If-Match", "message": "not a version"}],
        )
    return int(text)


IF_MATCH_PATTERN = r'^\s*(W/)?"?[0-9]{1,9}"?\s*$'
# The header is required, and its absence is 428 (not FastAPI's 422): the route reads it from
# the request and the document declares it, with the version's form.
IF_MATCH_REQUIRED = {
    "parameters": [
        {
            "name": "if-match",
            "in": "header",
            "required": True,
            "description": 'the version the change is based on ("3", W/"3" or 3)',
            "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
        },
    ]
}


# --- the OpenAPI side ----------------------------------------------------------------------

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "row": {"type": ["integer", "null"], "description": "an import's row"},
                    "column": {"type": ["string", "null"], "description": "an import's column"},
                },
            },
        },
    },
}

PROBLEM_TITLES = {
    400: "Bad request",
    401: "No or invalid bearer token",
    403: "Not allowed for this token's role or scope",
    404: "Not found, or not visible to this token",
    405: "Method not allowed (see the Allow header)",
    409: "Conflict with a rule or the current state",
    412: "If-Match names a version that is no longer current",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Invalid input (each error names its field)",
    428: "If-Match is required",
    503: "A dependency (database) is unavailable; retry later",
}
EVERY_OPERATION = (401, 403, 404, 422, 503)
WRITES = (409, 413)
WRITE_METHODS = {"post", "put", "patch", "delete"}


def problem_response(status: int) -> dict[str, Any]:
    return {
        "description": PROBLEM_TITLES[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


CREATED_HEADERS = {
    "Location": {"description": "the created resource's path", "schema": {"type": "string"}},
    "ETag": {"description": 'its version, quoted ("1")', "schema": {"type": "string"}},
}


def document_conventions(spec: dict[str, Any]) -> dict[str, Any]:
    """Every 201 documents its `Location` and `ETag`, and every operation documents the problem statuses it can answer, as problem+json: those any
    route can give (token, scope, not found, invalid input, database down), those of writes
    (a rule's conflict, a body too large), If-Match's where the operation takes it, and what a
    route declared itself. FastAPI's own 422 schema is replaced, since ours is a problem."""
    spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    schemas = spec["components"]["schemas"]
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for operations in spec.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            ops = "ops" in operation.get("tags", [])  # health and metrics: no token, no input
            statuses = set() if ops else set(EVERY_OPERATION)
            if method in WRITE_METHODS and not ops:
                statuses |= set(WRITES)
            if "requestBody" in operation:
                statuses.add(400)  # a body that is not what its content type says
            headers = {
                p["name"].lower()
                for p in operation.get("parameters", [])
                if p.get("in") == "header"
            }
            if "if-match" in headers:
                statuses |= {412, 428}
            responses = operation["responses"]
            if "201" in responses:
                responses["201"].setdefault("headers", {}).update(CREATED_HEADERS)
            for code in list(responses):
                if code.isdigit() and int(code) >= 400:
                    statuses.add(int(code))
            for status in sorted(statuses):
                declared = responses.get(str(status), {})
                entry = (
                    problem_response(status)
                    if status in PROBLEM_TITLES
                    else {
                        "description": declared.get("description", "problem"),
                        "content": problem_response(422)["content"],
                    }
                )
                if declared.get("description") and declared["description"] != "Validation Error":
                    entry["description"] = declared["description"]
                responses[str(status)] = entry
    return spec
