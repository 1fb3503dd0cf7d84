"""The key-list state machine 增补/调整/退出: every allowed move and every forbidden one."""

from __future__ import annotations

import itertools

import pytest

from services.registry.domain.enums import Level, ListChangeKind
from services.registry.domain.listing import (
    NEEDS_LEVEL,
    TRANSITIONS,
    Listing,
    plan_list_change,
)
from shared.errors import InvalidInput, RuleViolation

ADDED, ADJUSTED, WITHDRAWN = ListChangeKind.ADDED, ListChangeKind.ADJUSTED, ListChangeKind.WITHDRAWN
CITY, COUNTY = Level.CITY_KEY, Level.COUNTY_KEY


def test_the_table_allows_exactly_three_moves() -> None:
    assert TRANSITIONS == {
        (Listing.OFF, ADDED): Listing.ON,
        (Listing.ON, ADJUSTED): Listing.ON,
        (Listing.ON, WITHDRAWN): Listing.OFF,
    }
    assert set(NEEDS_LEVEL) == set(ListChangeKind)


@pytest.mark.parametrize(
    ("current", "kind", "level", "after"),
    [
        (None, ADDED, COUNTY, COUNTY),
        (COUNTY, ADJUSTED, CITY, CITY),
        (CITY, WITHDRAWN, None, None),
    ],
)
def test_the_allowed_moves(current, kind, level, after) -> None:
    assert plan_list_change(current, kind, level) == after


@pytest.mark.parametrize(
    ("current", "kind", "level", "words"),
    [
        (CITY, ADDED, COUNTY, "use adjusted"),  # on the list: add again
        (CITY, ADDED, CITY, "use adjusted"),
        (None, ADJUSTED, CITY, "use added"),  # off the list: adjust
        (None, WITHDRAWN, None, "nothing to withdraw"),  # off the list: withdraw
        (CITY, ADJUSTED, CITY, "already at level"),  # adjust to the level it has
    ],
)
def test_the_forbidden_moves_are_rule_violations(current, kind, level, words) -> None:
    with pytest.raises(RuleViolation, match=words):
        plan_list_change(current, kind, level)


@pytest.mark.parametrize(
    ("current", "kind", "level", "message"),
    [
        (None, ADDED, None, "required"),  # added needs the new level
        (CITY, ADJUSTED, None, "required"),  # adjusted needs the new level
        (CITY, WITHDRAWN, COUNTY, "must be empty"),  # a withdrawal takes no level
    ],
)
def test_a_change_without_what_its_kind_requires_is_invalid(current, kind, level, message):
    with pytest.raises(InvalidInput) as info:
        plan_list_change(current, kind, level)
    assert info.value.errors == [{"field": "level", "message": message}]


@pytest.mark.parametrize(
    ("current", "kind"), list(itertools.product([None, *Level], ListChangeKind))
)
def test_every_move_outside_the_table_is_refused_whatever_it_carries(current, kind) -> None:
    if (Listing.of(current), kind) in TRANSITIONS:
        return
    for level in (None, *Level):
        with pytest.raises(RuleViolation):
            plan_list_change(current, kind, level)
