"""What an assignment message says the unit owes: a resolution by its deadline, or a complex
problem's plan by its due date — never a sentence about a date that does not exist."""

from __future__ import annotations

import datetime as dt

from services.notifications.domain.occasions import due_text


def test_a_general_problem_owes_its_resolution_by_the_deadline() -> None:
    assert due_text(dt.date(2020, 9, 28), None) == "请于2020年9月28日前办结"


def test_a_complex_problem_not_yet_planned_owes_its_plan() -> None:
    assert due_text(None, dt.date(2020, 9, 23)) == "请于2020年9月23日前报送解决方案"


def test_a_planned_problem_owes_its_resolution() -> None:
    assert due_text(dt.date(2020, 10, 9), dt.date(2020, 9, 23)) == "请于2020年10月9日前办结"


def test_nothing_owed_says_nothing() -> None:
    assert due_text(None, None) is None
