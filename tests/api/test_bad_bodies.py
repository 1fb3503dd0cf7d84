"""Bodies no route should read, on every write of every service: larger than the limit
(`KUAICHE_MAX_BODY_BYTES`, by `Content-Length` or sent chunked without one, through the
Idempotency-Key path too), nested deeper than the JSON parser goes; and, for the ledger import,
huge files and a zip bomb in an XLSX. Each is a 4xx problem+json, and no table of the service,
outbox included, gains or loses a row."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from kuaiche.services import SERVICES
from shared.bus.inprocess import InProcessBus
from shared.http.problems import PROBLEM_JSON
from tests.conftest import COMMANDER, make_settings, start_service

LIMIT = 64 * 1024  # a small limit, so that the tests send little
METHODS = ("post", "put", "patch", "delete")
_PARAMETER = re.compile(r"\{[a-z_]+\}")


def _dummy(parameter: re.Match[str]) -> str:
    """A value of the parameter's shape (a route's converter may insist)."""
    return "2020" if parameter.group(0) == "{year}" else "some-id"


class Service:
    def __init__(self, name: str, app: Any, client: httpx.AsyncClient) -> None:
        self.name, self.app, self.client = name, app, client

    async def counts(self) -> dict[str, int]:
        """Rows in every table of the service, the outbox and the idempotency store included."""
        metadata = SERVICES[self.name].metadata
        async with self.app.state.runtime.session_factory() as session:
            return {
                table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
                for table in metadata.sorted_tables
            }

    def json_writes(self) -> Iterator[tuple[str, str]]:
        """(method, path) of every write that reads a JSON body, ids filled with a dummy."""
        for template, operations in self.app.openapi()["paths"].items():
            for method in METHODS:
                body = operations.get(method, {}).get("requestBody", {})
                if "application/json" in body.get("content", {}):
                    yield method.upper(), _PARAMETER.sub(_dummy, template)


@pytest.fixture(params=list(SERVICES))
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Service]:
    async with _started(request.param, tmp_path) as running:
        yield running


@pytest.fixture
async def registry_limited(tmp_path: Path) -> AsyncIterator[Service]:
    async with _started("registry", tmp_path) as running:
        yield running


class _started:
    def __init__(self, name: str, tmp_path: Path) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / name}.sqlite3"
        self.name = name
        self.settings = make_settings(name, url, tmp_path).model_copy(
            update={"max_body_bytes": LIMIT}
        )

    async def __aenter__(self) -> Service:
        app, self.lifespan = await start_service(
            SERVICES[self.name], self.settings, InProcessBus(), with_worker=False
        )
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{self.name}"
        )
        return Service(self.name, app, self.client)

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        await self.lifespan.__aexit__(None, None, None)


def refused(r: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert r.status_code in statuses, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers
    body = r.json()
    assert body["status"] == r.status_code and body["title"] and body["detail"]
    return body  # type: ignore[no-any-return]


async def _chunks(total: int, chunk: bytes = b" " * 8192) -> AsyncIterator[bytes]:
    """A body without Content-Length (httpx sends an async iterator chunked)."""
    sent = 0
    while sent < total:
        yield chunk
        sent += len(chunk)


JSON = {"Content-Type": "application/json"}


async def test_a_body_over_the_limit_is_413_on_every_write(service: Service) -> None:
    before = await service.counts()
    writes = list(service.json_writes())
    assert writes, service.name
    for method, path in writes:
        declared = await service.client.request(
            method,
            path,
            content=b"{}",
            headers={**COMMANDER, **JSON, "Content-Length": str(LIMIT + 1)},
        )
        assert "larger than" in refused(declared, 413)["detail"], (method, path)
        chunked = await service.client.request(
            method, path, content=_chunks(2 * LIMIT), headers={**COMMANDER, **JSON}
        )
        assert "larger than" in refused(chunked, 413)["detail"], (method, path)
        keyed = await service.client.request(
            method,
            path,
            content=_chunks(2 * LIMIT),
            headers={**COMMANDER, **JSON, "Idempotency-Key": uuid.uuid4().hex},
        )
        refused(keyed, 413)
    assert await service.counts() == before


async def test_a_body_at_the_limit_is_read(registry_limited: Service) -> None:
    """The limit is not a cut below it: a body just under it reaches the route (a project
    with long text is created)."""
    body = {
        "name": "篇幅测试项目",
        "county": "371602",
        "track": "implementation",
        "total_investment": "1",
        "content": "建" * 2000,
    }
    r = await registry_limited.client.post(
        "/v1/projects",
        content=_padded(body, LIMIT),
        headers={**COMMANDER, **JSON},
    )
    assert r.status_code == 201, r.text


def _padded(body: dict[str, Any], size: int) -> bytes:
    import json

    raw = json.dumps(body, ensure_ascii=False).encode()
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_json_nested_beyond_reason_is_a_4xx_on_every_write(
    service: Service, depth: int
) -> None:
    before = await service.counts()
    for opener, closer in ((b"[", b"]"), (b'{"a":', b"}")):
        body = opener * depth + b"1" + closer * depth
        if len(body) > LIMIT:
            body = body[: LIMIT // 2]  # still the opening of a deep document, and unfinished
        for method, path in service.json_writes():
            r = await service.client.request(
                method, path, content=body, headers={**COMMANDER, **JSON, "If-Match": '"1"'}
            )
            refused(r, 400, 422)
    assert await service.counts() == before


async def test_a_body_too_deep_for_the_parser_says_so(registry_limited: Service) -> None:
    body = b"[" * 5_000 + b"]" * 5_000
    r = await registry_limited.client.post(
        "/v1/projects", content=body, headers={**COMMANDER, **JSON}
    )
    assert refused(r, 400)["detail"] == "the JSON body is nested too deeply to be read"


# ---------------------------------------------------------------- the ledger import
HEADERS = ["项目名称", "县区", "类别", "总投资", "单位"]


def _ledger_xlsx() -> bytes:
    workbook = Workbook()
    workbook.active.append(HEADERS)
    workbook.active.append([f"炸弹测试-{uuid.uuid4().hex[:8]}", "滨城区", "实施类", "5000", "万元"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _import(client: httpx.AsyncClient, name: str, content: Any) -> Any:
    return client.post(
        "/v1/projects/import",
        files={"file": (name, content, "application/octet-stream")},
        headers=COMMANDER,
    )


async def test_an_upload_over_the_limit_is_413_and_imports_nothing(
    registry_limited: Service,
) -> None:
    before = await registry_limited.counts()
    huge = b"a,b\n" * (LIMIT // 2)
    refused(await _import(registry_limited.client, "ledger.csv", huge), 413)
    # the same, streamed without a Content-Length
    boundary = "kuaiche-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="ledger.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()

    async def multipart() -> AsyncIterator[bytes]:
        yield head
        async for chunk in _chunks(4 * LIMIT, b"a,b\n" * 2048):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await registry_limited.client.post(
        "/v1/projects/import",
        content=multipart(),
        headers={**COMMANDER, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    refused(r, 413)
    assert await registry_limited.counts() == before


@pytest.mark.parametrize(
    ("padding", "words"),
    [
        (101 * 1024 * 1024, "unzips to"),  # past the workbook's 100 MiB in all
        (11 * 1024 * 1024, "is compressed"),  # one part compressed ~1000:1
    ],
)
async def test_a_zip_bomb_in_an_xlsx_is_413_before_it_is_unzipped(
    registry: Any, padding: int, words: str
) -> None:
    """A workbook of a few hundred KiB that unzips to far more: refused by the sizes and
    ratios its zip directory declares, before openpyxl inflates anything."""
    buffer = io.BytesIO(_ledger_xlsx())
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(padding))
    bomb = buffer.getvalue()
    assert len(bomb) < 200 * 1024
    service = Service("registry", registry.app, registry.client)
    before = await service.counts()
    body = refused(await _import(registry.client, "ledger.xlsx", bomb), 413)
    assert words in body["errors"][0]["message"], body
    assert await service.counts() == before


def test_the_limit_is_read_from_kuaiche_max_body_bytes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from shared.config import DEFAULT_MAX_BODY_BYTES, load_settings

    monkeypatch.setenv("KUAICHE_JWT_SECRET", "s" * 40)
    assert load_settings("registry", data_dir=tmp_path).max_body_bytes == DEFAULT_MAX_BODY_BYTES
    monkeypatch.setenv("KUAICHE_MAX_BODY_BYTES", "2048")
    assert load_settings("factors", data_dir=tmp_path).max_body_bytes == 2048
    monkeypatch.setenv("KUAICHE_MAX_BODY_BYTES", "10")
    with pytest.raises(ValueError, match="max_body_bytes"):
        load_settings("factors", data_dir=tmp_path)
