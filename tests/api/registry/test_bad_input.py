"""Bad input is a 4xx problem that writes nothing, never a 500: out-of-range years and offsets,
NUL characters, absurd decimals, impossible dates, an oversized If-Match, import files that
cannot be read; on SQLite and, where PostgreSQL is stricter, on PostgreSQL too."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import threading
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from services.registry.importing import mapping
from shared.bus.inprocess import InProcessBus
from tests.api.registry.helpers import create_project, has_error, nothing_written, problem
from tests.conftest import (
    COMMANDER,
    RunningService,
    create_database,
    make_settings,
    start_service,
)

NUL = "must not contain NUL characters"
OUT_OF_RANGE = "dates must lie between 1990 and 2100"


@pytest.fixture
async def pg_registry(tmp_path: Path, postgres_server: str) -> AsyncIterator[RunningService]:
    """The registry on PostgreSQL (its own fresh database) with the in-process bus."""
    from services.registry.main import SERVICE

    url = await create_database(postgres_server)
    app, lifespan = await start_service(
        SERVICE, make_settings("registry", url, tmp_path), InProcessBus()
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        yield RunningService(app, client)
    await lifespan.__aexit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_registry(request: pytest.FixtureRequest) -> RunningService:
    """The registry on SQLite, then on PostgreSQL (which refuses what SQLite lets through)."""
    name = "registry" if request.param == "sqlite" else "pg_registry"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- years and offsets
@pytest.mark.parametrize("year", ["0", "99999", "1999", "2101", "-1"])
async def test_list_changes_of_a_year_out_of_range_is_422(registry, year):
    r = await registry.client.get("/v1/list-changes", params={"year": year}, headers=COMMANDER)
    assert problem(r, 422)["errors"][0]["field"] == "year"


async def test_list_changes_of_a_year_in_range_is_200(registry):
    r = await registry.client.get("/v1/list-changes", params={"year": 2020}, headers=COMMANDER)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("offset", ["99999999999999999999999", "1000001"])
async def test_a_huge_offset_is_422(registry, offset):
    pid = (await create_project(registry))["id"]
    for path in ("/v1/projects", f"/v1/projects/{pid}/history"):
        r = await registry.client.get(path, params={"offset": offset}, headers=COMMANDER)
        assert problem(r, 422)["errors"][0]["field"] == "offset", path
        r = await registry.client.get(path, params={"offset": 1_000_000}, headers=COMMANDER)
        assert r.status_code == 200 and r.json()["items"] == [], path


# ---------------------------------------------------------------- NUL characters
async def test_nul_in_a_new_projects_text_is_422(any_registry):
    for field, value in (
        ("name", "名称\x00"),
        ("content", "建设内容\x00"),
        ("owner", "\x00"),
        ("tags", ["新基建", "补\x00短板"]),
    ):
        item = "tags.1" if field == "tags" else field  # the error names the tag
        async with nothing_written(any_registry):
            r = await any_registry.client.post(
                "/v1/projects",
                json={
                    "name": "NUL测试",
                    "county": "371602",
                    "track": "implementation",
                    "total_investment": "1",
                    field: value,
                },
                headers=COMMANDER,
            )
        assert has_error(problem(r, 422), item, NUL), (field, r.text)


def _writes(pid: str, mid: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, body, field with the NUL) for every write of a project."""
    base = f"/v1/projects/{pid}"
    report = {"period": "2020-03", "ytd_investment": "1", "month_investment": "1"}
    milestone = {"name": "开工", "planned_date": "2020-03-01"}
    change = {"kind": "adjusted", "level": "county_key", "effective_date": "2020-03-01"}
    return [
        ("PATCH", base, {"content": "内容\x00"}, "content"),
        ("PATCH", base, {"tags": ["\x00"]}, "tags.0"),
        (
            "POST",
            f"{base}/stage",
            {"stage": "reserve", "date": "2020-03-01", "reason": "\x00"},
            "reason",
        ),
        ("POST", f"{base}/reports", {**report, "progress_note": "主体\x00完工"}, "progress_note"),
        ("POST", f"{base}/reports", {**report, "correction_note": "\x00"}, "correction_note"),
        ("POST", f"{base}/milestones", {**milestone, "name": "摘牌\x00"}, "name"),
        ("POST", f"{base}/milestones", {**milestone, "note": "\x00"}, "note"),
        ("PATCH", f"{base}/milestones/{mid}", {"note": "备注\x00"}, "note"),
        ("POST", f"{base}/list-changes", {**change, "reason": "调整\x00"}, "reason"),
    ]


async def add_milestone(registry, pid: str) -> str:  # type: ignore[no-untyped-def]
    r = await registry.client.post(
        f"/v1/projects/{pid}/milestones",
        json={"name": "土地摘牌", "planned_date": "2020-03-01"},
        headers=COMMANDER,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_nul_in_any_write_is_422_and_writes_nothing(any_registry):
    pid = (await create_project(any_registry))["id"]
    mid = await add_milestone(any_registry, pid)
    for method, path, body, field in _writes(pid, mid):
        async with nothing_written(any_registry, pid):
            r = await any_registry.client.request(
                method, path, json=body, headers={**COMMANDER, "If-Match": "2"}
            )
        assert has_error(problem(r, 422), field, NUL), (path, r.text)


# ---------------------------------------------------------------- decimals
@pytest.mark.parametrize("lng", ["1e-999999", "1e999", "117.1234567", "-0.0000001", "12345678901"])
async def test_a_location_the_column_cannot_hold_is_422(any_registry, lng):
    async with nothing_written(any_registry):
        r = await any_registry.client.post(
            "/v1/projects",
            json={
                "name": "坐标测试",
                "county": "371602",
                "track": "implementation",
                "total_investment": "1",
                "location": {"lng": lng, "lat": "37.1"},
            },
            headers=COMMANDER,
        )
    assert "location.lng" in {e["field"] for e in problem(r, 422)["errors"]}


async def test_a_location_with_six_decimals_is_kept(any_registry):
    project = await create_project(any_registry, location={"lng": "-117.123456", "lat": "37.1"})
    assert project["location"] == {"lng": "-117.123456", "lat": "37.1"}


@pytest.mark.parametrize("amount", ["123456789012", "1.00001"])
async def test_an_amount_no_database_holds_exactly_is_422(any_registry, amount):
    # SQLite keeps 15 significant digits: 11 before the point and 4 after are exact everywhere
    async with nothing_written(any_registry):
        r = await any_registry.client.post(
            "/v1/projects",
            json={
                "name": "金额测试",
                "county": "371602",
                "track": "implementation",
                "total_investment": amount,
            },
            headers=COMMANDER,
        )
    assert "total_investment" in {e["field"] for e in problem(r, 422)["errors"]}


async def test_the_largest_amount_reads_back_exactly(any_registry):
    project = await create_project(any_registry, total_investment="99999999999.9999")
    assert project["total_investment"] == "99999999999.9999"


# ---------------------------------------------------------------- impossible dates
async def test_a_project_date_out_of_range_is_422(registry):
    for field in ("planned_start", "planned_completion", "actual_start", "actual_completion"):
        for date in ("0001-01-01", "1989-12-31", "2101-01-01"):
            async with nothing_written(registry):
                r = await registry.client.post(
                    "/v1/projects",
                    json={
                        "name": "日期测试",
                        "county": "371602",
                        "track": "implementation",
                        "total_investment": "1",
                        field: date,
                    },
                    headers=COMMANDER,
                )
            assert has_error(problem(r, 422), field, OUT_OF_RANGE), (field, date)


async def test_a_date_out_of_range_in_any_write_is_422_and_writes_nothing(registry):
    pid = (await create_project(registry))["id"]
    mid = await add_milestone(registry, pid)
    base = f"/v1/projects/{pid}"
    old = "0001-01-01"
    milestone = {"name": "开工", "planned_date": "2020-03-01"}
    change = {"kind": "adjusted", "level": "county_key", "reason": "调整"}
    writes: list[tuple[str, str, dict[str, Any], str]] = [
        ("PATCH", base, {"planned_start": old}, "planned_start"),
        ("PATCH", base, {"planned_completion": "9999-12-31"}, "planned_completion"),
        ("POST", f"{base}/stage", {"stage": "reserve", "date": old}, "date"),
        ("POST", f"{base}/milestones", {**milestone, "planned_date": old}, "planned_date"),
        ("POST", f"{base}/milestones", {**milestone, "actual_date": old}, "actual_date"),
        ("PATCH", f"{base}/milestones/{mid}", {"actual_date": old}, "actual_date"),
        ("PATCH", f"{base}/milestones/{mid}", {"planned_date": "2101-01-01"}, "planned_date"),
        ("POST", f"{base}/list-changes", {**change, "effective_date": old}, "effective_date"),
    ]
    for method, path, body, field in writes:
        async with nothing_written(registry, pid):
            r = await registry.client.request(
                method, path, json=body, headers={**COMMANDER, "If-Match": "2"}
            )
        assert has_error(problem(r, 422), field, OUT_OF_RANGE), (path, body, r.text)


@pytest.mark.parametrize("period", ["0000-01", "1989-12", "2101-01"])
async def test_a_report_for_a_year_out_of_range_is_422_on_period(registry, period):
    pid = (await create_project(registry))["id"]
    async with nothing_written(registry, pid):
        r = await registry.client.post(
            f"/v1/projects/{pid}/reports",
            json={"period": period, "ytd_investment": "1", "month_investment": "1"},
            headers=COMMANDER,
        )
    assert has_error(problem(r, 422), "period", "1990–2100")


# ---------------------------------------------------------------- If-Match
@pytest.mark.parametrize("value", ["1" * 5000, "1" * 13, "²".encode("latin-1")])
async def test_an_if_match_that_is_no_version_is_422(registry, value):
    pid = (await create_project(registry))["id"]
    async with nothing_written(registry, pid):
        r = await registry.client.patch(
            f"/v1/projects/{pid}", json={"leader": "李"}, headers={**COMMANDER, "If-Match": value}
        )
    assert problem(r, 422)["errors"] == [{"field": "If-Match", "message": "not a version"}]


# ---------------------------------------------------------------- import
LEDGER_HEADERS = ["项目名称", "县区", "类别", "总投资", "单位", "计划开工", "经度", "纬度"]


def _ledger(**cells: str) -> bytes:
    values = {
        "项目名称": "导入坏数据",
        "县区": "滨城区",
        "类别": "实施类",
        "总投资": "5000",
        "单位": "万元",
        "计划开工": "2020-06",
        "经度": "117.9",
        "纬度": "37.3",
    }
    values.update(cells)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(LEDGER_HEADERS)
    writer.writerow([values[h] for h in LEDGER_HEADERS])
    return buffer.getvalue().encode("utf-8-sig")


async def _import(registry: Any, filename: str, content: bytes) -> httpx.Response:
    return await registry.client.post(
        "/v1/projects/import", files={"file": (filename, content)}, headers=COMMANDER
    )


@pytest.mark.parametrize(
    ("cells", "column", "words"),
    [
        ({"总投资": "1e400"}, "总投资", "too many digits"),
        ({"总投资": "123456789012345"}, "总投资", "too many digits"),
        ({"总投资": "1.12345"}, "总投资", "too many digits"),
        ({"总投资": "12345678901", "单位": "亿元"}, "总投资", "too many digits"),
        ({"总投资": "1.123456789", "单位": "亿元"}, "总投资", "too many digits"),
        ({"经度": "1e999"}, "经度", "too many digits"),
        ({"经度": "1e-999999"}, "经度", "too many digits"),
        ({"纬度": "37.1234567"}, "纬度", "too many digits"),
        ({"项目名称": "坏\x00名称"}, "项目名称", NUL),
        ({"县区": "滨城区\x00"}, "县区", NUL),
        ({"计划开工": "0001-01-01"}, "计划开工", OUT_OF_RANGE),
    ],
)
async def test_an_import_cell_that_cannot_be_stored_is_a_row_error(
    any_registry, cells, column, words
):
    async with nothing_written(any_registry):
        r = await _import(any_registry, "台账.csv", _ledger(**cells))
    body = problem(r, 409)  # what a file holds is no schema's to state
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(2, column)], body
    assert words in body["errors"][0]["message"]


async def test_an_import_in_yi_yuan_with_eight_decimals_is_kept(any_registry):
    r = await _import(any_registry, "台账.csv", _ledger(总投资="1.12345678", 单位="亿元"))
    assert r.status_code == 201, r.text
    project = await any_registry.client.get(f"/v1/projects/{r.json()['ids'][0]}", headers=COMMANDER)
    assert project.json()["total_investment"] == "11234.5678"


def _xlsx_with_broken_row() -> bytes:
    """A workbook whose third row holds a NUL (an XML character reference no parser reads)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(LEDGER_HEADERS)
    sheet.append(["好项目", "滨城区", "实施类", "1", "万元", "2020-06", None, None])
    sheet.append(["坏项目PLACEHOLDER", "滨城区", "实施类", "1", "万元", "2020-06", None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = data.replace(b"PLACEHOLDER", b"&#0;")
            dst.writestr(name, data)
    return out.getvalue()


async def test_an_xlsx_with_a_nul_in_a_cell_is_a_row_error(registry):
    async with nothing_written(registry):
        r = await _import(registry, "台账.xlsx", _xlsx_with_broken_row())
    body = problem(r, 409)
    assert [e["row"] for e in body["errors"]] == [3], body
    assert "cannot read the sheet" in body["errors"][0]["message"]


async def test_an_import_is_parsed_off_the_event_loop(registry, monkeypatch):
    threads: list[threading.Thread] = []
    read_ledger = mapping.read_ledger

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return read_ledger(*args, **kwargs)

    monkeypatch.setattr(mapping, "read_ledger", recording)
    r = await _import(registry, "台账.csv", _ledger())
    assert r.status_code == 201, r.text
    assert threads and threads[0] is not threading.current_thread()


# ---------------------------------------------------------------- the CLI
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "county", "--county", "999999"], "unknown division '999999' in 滨州市"),
        (["--role", "county"], "a county token needs a county code"),
        (["--role", "department"], "a department token needs a department name"),
    ],
)
def test_a_token_that_cannot_be_issued_is_a_message_not_a_traceback(tmp_path, args, message):
    kuaiche = Path(sys.executable).parent / "kuaiche"
    done = subprocess.run(
        [str(kuaiche), "token", *args, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == f"kuaiche: {message}"
    assert done.stdout == ""
