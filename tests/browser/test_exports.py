"""Exports: the buttons download the ledger and the exposure lists as XLSX (fetch, blob,
<a download>), files openpyxl reads, with the rows the APIs count."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.browser.conftest import Console, Demo, OpenConsole
from tests.browser.expected import period, summary

HUIMIN = "371621"


def rows_of(data: bytes) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    sheet = book.worksheets[0]
    rows = [r for r in sheet.iter_rows(values_only=True) if any(v not in (None, "") for v in r)]
    book.close()
    return rows


def download(c: Console, testid: str) -> tuple[str, bytes]:
    with c.page.expect_download(timeout=60_000) as info:
        c.page.click(f"[data-testid={testid}]")
    d = info.value
    assert d.failure() is None, d.failure()
    return d.suggested_filename, Path(d.path()).read_bytes()


def api_file(demo: Demo, path: str, token: str | None = None, **params: Any) -> bytes:
    with demo.api(token) as client:
        r = client.get(path, params=params, timeout=60)
    assert r.status_code == 200, r.text[:300]
    assert "attachment" in r.headers.get("content-disposition", "")
    return r.content


def template_header(demo: Demo) -> tuple[Any, ...]:
    """The import template's header row (an example row follows it): the ledger's columns."""
    return rows_of(api_file(demo, "/registry/v1/projects/import/template", format="xlsx"))[0]


def test_the_ledger_downloads_as_xlsx(console: OpenConsole, demo: Demo) -> None:
    c = console("commander")
    name, data = download(c, "export-ledger")
    assert name.endswith(".xlsx"), name
    rows = rows_of(data)
    # The same columns as the import template, so an export can be imported again ...
    assert rows[0] == template_header(demo)
    # ... and a row per project.
    assert len(rows) - 1 == summary(demo)["projects"] == 1191
    names = {r[0] for r in rows[1:]}
    assert len(names) > 1000


def test_a_countys_ledger_has_only_its_projects(console: OpenConsole, demo: Demo) -> None:
    c = console("county", HUIMIN)
    token = demo.token("county", HUIMIN)
    _, data = download(c, "export-ledger")
    rows = rows_of(data)
    assert rows[0] == template_header(demo)
    assert len(rows) - 1 == summary(demo, token)["projects"]
    county = rows[0].index("县区")
    assert {r[county] for r in rows[1:]} == {"惠民县"}


@pytest.mark.parametrize("kind", ["unstarted", "lagging", "overdue"])
def test_an_exposure_list_downloads_as_xlsx(console: OpenConsole, demo: Demo, kind: str) -> None:
    c = console("commander")
    year, month = period(demo)
    name, data = download(c, f"export-exposure-{kind}")
    assert name.endswith(".xlsx"), name
    total = demo.get("/scoring/v1/exposure", kind=kind, year=year, month=month, limit=1)["total"]
    assert total > 0
    same = api_file(demo, "/scoring/v1/exposure/export", kind=kind, year=year, month=month)
    assert rows_of(data) == rows_of(same)
    heads = len(rows_of(same)) - total
    assert 1 <= heads <= 3, (len(rows_of(same)), total)
