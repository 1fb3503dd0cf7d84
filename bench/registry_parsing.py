"""How long the registry's pure builders take: reading the demo library from its data files, and
the ledger import refusing (or cutting short) hostile spreadsheets.

These were once wall-clock assertions in tests (the demo in under 1 s, each sheet in under 2 s);
the tests keep what the code does, this script prints how long it takes. Needs nothing running.

    .venv/bin/python bench/registry_parsing.py [--repeat 3]

Each row is the best of `--repeat` runs (the noise on a shared machine only ever adds time).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402

from bench import common  # noqa: E402
from services.registry.demo import demo_library  # noqa: E402
from services.registry.importing import reader  # noqa: E402
from services.registry.importing.mapping import parse_ledger  # noqa: E402
from shared.errors import InvalidInput, PayloadTooLarge  # noqa: E402

HEADERS = ["项目名称", "县区", "类别", "总投资", "单位", "经度", "纬度"]
ROW = ["甲项目", "滨城区", "实施类", "5000", "万元", "117.9", "37.3"]
OLD_BUDGET = {"demo library": 1.0, "a million blank rows": 2.0, "16,384-cell rows": 2.0}


def _xlsx(fill: Callable[[Workbook], None]) -> bytes:
    workbook = Workbook()
    workbook.active.append(HEADERS)
    workbook.active.append(ROW)
    fill(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _blank_rows(workbook: Workbook) -> None:
    workbook.active.cell(row=1_048_576, column=1, value="末行")  # Excel's last row


def _wide_rows(workbook: Workbook) -> None:
    for row in range(3, 5_000):
        workbook.active.cell(row=row, column=16_384, value="x")  # XFD


def _refused(content: bytes) -> str:
    try:
        parse_ledger("a.xlsx", content)
    except InvalidInput as exc:
        return f"refused at row {exc.errors[0]['row']}"
    except PayloadTooLarge as exc:
        return f"refused: {exc.detail}"
    return "read"


def _read(content: bytes) -> str:
    return f"{len(parse_ledger('a.xlsx', content))} project(s) read"


def _best(run: Callable[[], str], repeat: int) -> tuple[float, str]:
    times, outcome = [], ""
    for _ in range(repeat):
        began = time.perf_counter()
        outcome = run()
        times.append(time.perf_counter() - began)
    return min(times), outcome


def main() -> int:
    options = common.parser(__doc__ or "")
    options.add_argument("--repeat", type=int, default=3, help="runs per row (3)")
    args = options.parse_args()
    common.step("building the sheets")
    blank, wide = _xlsx(_blank_rows), _xlsx(_wide_rows)
    cases: list[tuple[str, Callable[[], str]]] = [
        ("demo library", lambda: f"{len(demo_library())} projects"),
        ("a million blank rows", lambda: _refused(blank)),
        ("16,384-cell rows", lambda: _read(wide)),
    ]
    rows = []
    for name, run in cases:
        common.step(name)
        seconds, outcome = _best(run, args.repeat)
        rows.append([name, outcome, f"{seconds:.3f}", f"{OLD_BUDGET[name]:.1f}"])
    print("\n".join(common.machine_lines(["openpyxl", "pydantic"])))
    print(f"limits: {reader.MAX_SHEET_ROWS} sheet rows, {reader.MAX_COLUMNS} columns read")
    print(common.table(["case", "outcome", "best s", "budget s"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
