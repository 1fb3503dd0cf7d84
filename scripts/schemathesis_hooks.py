"""schemathesis hooks (loaded through schemathesis.toml's `hooks`): what it cannot make up.

The ledger import reads CSV or XLSX files. schemathesis has no generator for those media types,
so it gets real ledgers: the registry's own templates (headers and one example project), a
file that is only the headers, and one cut short, so both the import and its refusals run.
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

from services.registry.importing.columns import ledger_template_csv, ledger_template_xlsx
from services.registry.importing.reader import CSV, XLSX

_csv = ledger_template_csv()
_xlsx = ledger_template_xlsx()

schemathesis.openapi.media_type(
    CSV, st.sampled_from([_csv, _csv.split(b"\r\n", 1)[0] + b"\r\n", _csv[: len(_csv) // 2]])
)
schemathesis.openapi.media_type(XLSX, st.sampled_from([_xlsx, _xlsx[: len(_xlsx) // 2]]))
