"""The shared answer shape and the schemas that say what the API accepts."""

from __future__ import annotations

import datetime as dt
import inspect
import re
import typing
from decimal import Decimal
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Header, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

import shared.http.app as shared_app
from shared.amounts import NonNegativeAmount, PositiveAmount
from shared.errors import InvalidInput, PreconditionRequired
from shared.fields import NO_NUL_PATTERN, BusinessDate, InputModel, required_text, rule_error
from shared.http.conventions import (
    document_conventions,
    json_answer,
    parse_if_match,
    rendered,
)
from shared.http.problems import install_problem_handlers


def app_with(router: APIRouter) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    return app


async def test_a_405_names_every_method_the_path_has_in_allow() -> None:
    router = APIRouter()

    @router.get("/things")
    async def list_things() -> dict:
        return {}

    @router.post("/things")
    async def create_thing() -> dict:
        return {}

    @router.get("/things/{thing_id}")
    async def read_thing(thing_id: str) -> dict:
        return {}

    @router.post("/things/import")
    async def import_things() -> dict:
        return {}

    transport = httpx.ASGITransport(app=app_with(router))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.delete("/things")
        assert r.status_code == 405
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["allow"] == "GET, POST"
        # The most specific path's methods, as the OpenAPI document has them.
        r = await client.request("OPTIONS", "/things/import")
        assert r.status_code == 405 and r.headers["allow"] == "POST"


@pytest.mark.parametrize("kind", [NonNegativeAmount, PositiveAmount])
def test_request_amounts_are_strings_whose_schema_pattern_is_the_rule(kind: object) -> None:
    adapter = TypeAdapter(kind)
    schema = adapter.json_schema(mode="validation")
    assert schema["type"] == "string"
    pattern = re.compile(schema["pattern"])
    for text in ["12000.5", "0.0001", "99999999999.9999"]:
        assert pattern.fullmatch(text) and adapter.validate_python(text) == Decimal(text)
    for bad in ["abc", "1.23456", "100000000000", "01", "-1", "1e3", " 1"]:
        assert not pattern.fullmatch(bad)
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
    for number in [5, 5.5]:  # a JSON number would round: refused though it looks valid
        with pytest.raises(ValidationError):
            adapter.validate_python(number)


def test_zero_is_an_amount_but_not_a_positive_one() -> None:
    assert TypeAdapter(NonNegativeAmount).validate_python("0") == 0
    assert not re.fullmatch(TypeAdapter(PositiveAmount).json_schema()["pattern"], "0")
    with pytest.raises(ValidationError):
        TypeAdapter(PositiveAmount).validate_python("0.0000")


def test_input_texts_say_they_refuse_nul_and_business_dates_their_years() -> None:
    class Body(InputModel):
        name: str
        tags: list[str]
        date: BusinessDate

    schema = Body.model_json_schema()
    assert schema["properties"]["name"]["pattern"] == NO_NUL_PATTERN
    assert schema["properties"]["tags"]["items"]["pattern"] == NO_NUL_PATTERN
    date_pattern = re.compile(schema["properties"]["date"]["pattern"])
    assert date_pattern.fullmatch("2020-04-10") and not date_pattern.fullmatch("1989-12-31")
    with pytest.raises(ValidationError):
        Body(name="a\x00b", tags=[], date="2020-04-10")


def test_if_match_names_a_version() -> None:
    assert parse_if_match('"3"') == 3 and parse_if_match('W/"3"') == 3 and parse_if_match("3") == 3
    with pytest.raises(PreconditionRequired):
        parse_if_match(None)
    for bad in ('"three"', '"²"', '"' + "1" * 10 + '"'):
        with pytest.raises(InvalidInput):
            parse_if_match(bad)


class Thing(InputModel):
    name: str


def test_every_operation_documents_the_problems_it_can_answer() -> None:
    router = APIRouter()

    @router.post("/things", status_code=201)
    async def create(body: Thing) -> dict:
        return {}

    @router.patch("/things/{thing_id}")
    async def change(thing_id: str, body: Thing, if_match: Annotated[str, Header()]) -> dict:
        return {}

    @router.get("/things/{thing_id}")
    async def read(thing_id: str) -> dict:
        return {}

    spec = document_conventions(app_with(router).openapi())
    create_doc = spec["paths"]["/things"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422", "503"} <= set(create_doc)
    assert {"Location", "ETag"} <= set(create_doc["201"]["headers"])
    assert {"412", "428"} <= set(spec["paths"]["/things/{thing_id}"]["patch"]["responses"])
    read_doc = spec["paths"]["/things/{thing_id}"]["get"]["responses"]
    assert "409" not in read_doc and "400" not in read_doc
    assert read_doc["422"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }


class Window(InputModel):
    start: BusinessDate
    end: BusinessDate

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise rule_error("end must not be before start")
        return self


async def test_a_rule_the_schema_cannot_state_is_409_and_a_schema_breach_422() -> None:
    router = APIRouter()

    @router.post("/windows")
    async def create(body: Window) -> dict:
        return {}

    transport = httpx.ASGITransport(app=app_with(router))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ok = await client.post("/windows", json={"start": "2020-04-01", "end": "2020-04-30"})
        rule = await client.post("/windows", json={"start": "2020-04-30", "end": "2020-04-01"})
        schema = await client.post("/windows", json={"start": "2020-04-30", "end": "soon"})
    assert ok.status_code == 200
    assert rule.status_code == 409, rule.text
    assert rule.json()["errors"][0]["message"] == "end must not be before start"
    assert schema.status_code == 422, schema.text


def test_a_business_date_is_an_iso_date_as_written() -> None:
    adapter = TypeAdapter(BusinessDate)
    assert str(adapter.validate_python("2020-04-10")) == "2020-04-10"
    for loose in ["2020-04-10T00:00:00", 1586476800, "20200410", "2020-4-10"]:
        with pytest.raises(ValidationError):
            adapter.validate_python(loose)
    with pytest.raises(ValidationError):
        adapter.validate_python("1989-12-31")  # a typing slip, not a project's date


def test_a_required_text_holds_more_than_whitespace_and_says_so() -> None:
    adapter = TypeAdapter(Annotated[str, *required_text(5)])
    pattern = re.compile(adapter.json_schema()["pattern"])
    assert adapter.validate_python("甲项目") == "甲项目" and pattern.fullmatch("甲项目")
    for blank in ["", "   ", "\ufeff", "\x1c"]:
        assert not pattern.fullmatch(blank)
        with pytest.raises(ValidationError):
            adapter.validate_python(blank)
    with pytest.raises(ValidationError):
        adapter.validate_python("toolong")


@pytest.mark.parametrize("alias", ["RuntimeDep", "DbSession", "Uow", "CurrentUser"])
def test_the_shared_dependencies_run_on_the_event_loop(alias: str) -> None:
    """FastAPI runs a plain `def` dependency in a worker thread: a hop there and back per
    dependency and request. Every route takes these, so they are `async def`."""
    (depends,) = typing.get_args(getattr(shared_app, alias))[1:]
    call = depends.dependency
    assert inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call), call


class _Inner(BaseModel):
    amount: Decimal
    at: dt.datetime | None = None


class _Answer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    county_name: str = Field(alias="countyName")
    items: list[_Inner]
    tier: str | None = None


async def test_an_answer_rendered_is_what_fastapi_sends_for_the_response_model() -> None:
    answer = _Answer(
        county_name="滨城区",
        items=[_Inner(amount=Decimal("12.50"), at=dt.datetime(2020, 4, 30, 8, tzinfo=dt.UTC))],
    )
    router = APIRouter()

    @router.get("/model", response_model=_Answer)
    async def as_model() -> _Answer:
        return answer

    @router.get("/rendered", response_model=_Answer)
    async def as_rendered() -> Response:
        return json_answer(rendered(answer))

    app = app_with(router)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        by_model, kept = await client.get("/model"), await client.get("/rendered")
    assert kept.content == by_model.content == rendered(answer)
    assert kept.headers["content-type"] == by_model.headers["content-type"]
    assert kept.headers["content-length"] == by_model.headers["content-length"]
    spec = app.openapi()["paths"]
    assert spec["/rendered"]["get"]["responses"] == spec["/model"]["get"]["responses"]
