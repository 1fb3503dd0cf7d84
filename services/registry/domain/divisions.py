"""The county a project belongs to, read against the region table 行政区划."""

from __future__ import annotations

from shared.errors import RuleViolation
from shared.regions import Division, RegionTable


def resolve_county(regions: RegionTable, code_or_name: str) -> Division:
    """The current division of a code, an old code or a name. The table is configuration, which
    no schema states, so a division it lacks is a RuleViolation (409) on field "county"."""
    division = regions.find(code_or_name)
    if division is None:
        message = f"unknown division {code_or_name.strip()!r}"
        raise RuleViolation(
            f"{message} in {regions.name}", errors=[{"field": "county", "message": message}]
        )
    return division
