"""Write a schemathesis config: the repository's schemathesis.toml plus real ids for the path
parameters, read from the running demo (so `/v1/issues/{issue_id}` is fuzzed against a problem
that exists, not only against 404s).

    python scripts/schemathesis_params.py OUT.toml TOKEN name=port [name=port ...]
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# path parameter -> (service, list to take the first item's field from, field)
SOURCES = {
    "project_id": ("registry", "/v1/projects?limit=1", "id"),
    "pool_id": ("factors", "/v1/pools?limit=1", "id"),
    "allocation_id": ("factors", "/v1/allocations?limit=1", "id"),
    "source_id": ("factors", "/v1/replacement-sources?limit=1", "id"),
    "demand_id": ("factors", "/v1/credit-demands?limit=1", "id"),
    "issue_id": ("issues", "/v1/issues?limit=1", "id"),
    "round_id": ("issues", "/v1/rounds?limit=1", "id"),
    "publication_id": ("scoring", "/v1/publications?limit=1", "id"),
    "recipient_id": ("notifications", "/v1/recipients?limit=1", "id"),
    "notification_id": ("notifications", "/v1/notifications?limit=1", "id"),
}
FIXED = {"county": "371602", "version": "default"}


def first(port: int, token: str, path: str, field: str) -> str | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        items = json.load(answer).get("items", [])
    return str(items[0][field]) if items else None


def main() -> None:
    out, token, *pairs = sys.argv[1:]
    ports = {name: int(port) for name, port in (p.split("=") for p in pairs)}
    values = dict(FIXED)
    for parameter, (service, path, field) in SOURCES.items():
        if service in ports and (value := first(ports[service], token, path, field)):
            values[parameter] = value
    lines = [(ROOT / "schemathesis.toml").read_text(encoding="utf-8"), "", "[parameters]"]
    lines += [f'"path.{name}" = {json.dumps(value)}' for name, value in sorted(values.items())]
    Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
