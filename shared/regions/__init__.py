"""Division table (行政区划): the assessed units of a city, loaded as data. Shared reference
data: the registry resolves codes with it, scoring names and ranks the divisions by it.

Zones (开发区) have no official code; they get internal 6-digit codes marked unofficial.
Old codes (e.g. 沾化 371624 before it became a district) still resolve to the current division.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from shared.errors import RuleViolation


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    kind: str  # district | county | county_city | zone
    official: bool
    old_codes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RegionTable:
    code: str
    name: str
    province: str
    divisions: tuple[Division, ...]

    def resolve(self, code_or_name: str) -> Division:
        """The current division for a current code, an old code or a name. None is a
        RuleViolation (409): the region table is configuration, which no schema states."""
        key = code_or_name.strip()
        for division in self.divisions:
            if key == division.code or key in division.old_codes or key == division.name:
                return division
        raise RuleViolation(
            f"unknown division {key!r} in {self.name}",
            errors=[{"field": "county", "message": f"unknown division {key!r}"}],
        )

    def find(self, code_or_name: str) -> Division | None:
        try:
            return self.resolve(code_or_name)
        except RuleViolation:
            return None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.divisions)


def parse_region_table(raw: dict) -> RegionTable:
    return RegionTable(
        code=raw["code"],
        name=raw["name"],
        province=raw.get("province", raw["code"][:2] + "0000"),
        divisions=tuple(
            Division(
                code=d["code"],
                name=d["name"],
                kind=d["kind"],
                official=bool(d.get("official", True)),
                old_codes=tuple(d.get("old_codes", ())),
            )
            for d in raw["divisions"]
        ),
    )


@cache
def load_region_table(path: str | None = None) -> RegionTable:
    """The region table at `path` (JSON), or the packaged Binzhou table."""
    if path:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    else:
        text = resources.files("shared.regions").joinpath("binzhou.json").read_text("utf-8")
        raw = json.loads(text)
    return parse_region_table(raw)
