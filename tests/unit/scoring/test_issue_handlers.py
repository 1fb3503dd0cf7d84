"""Scoring counts problems: of the issues topic it takes a problem's moves, not the calendar's
uploads (which carry no problem and would otherwise be dead-lettered after three tries)."""

from __future__ import annotations

from services.scoring import handlers
from shared.events.catalogue import issues as iss


def test_scoring_takes_every_problem_move_and_leaves_the_calendar_alone() -> None:
    problem_moves = {t for t, m in iss.EVENT_TYPES.items() if issubclass(m, iss.IssueEvent)}
    assert set(handlers._ISSUES) == problem_moves
    assert iss.CalendarScheduleSet.TYPE not in handlers._ISSUES
