"""What a batch of scoring's live consumer touched, for its standings (`standings.refresh`):
each insert or update of a read-model row, seen through SQLAlchemy's mapper events on its old and
new values, marks the divisions and years it counts in (so no handler has to remember it). The
marks collect in the session's `info` under `MARKS` until the batch's end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import attributes as orm_attributes

from services.scoring.domain.standings import Marks, mark_project, year_of
from services.scoring.models import (
    AllocationView,
    GrantView,
    PlanView,
    ProblemView,
    ProjectView,
    ReportView,
)

MARKS = "scoring.standings"  # the key of a session's marks in `session.info`


def _mark(marks: Marks, row: Any, value: Callable[[str], Any]) -> None:
    """Mark what the row's state (each attribute read through `value`) counts in."""
    if marks.epoch is None:
        marks.epoch = value("epoch")
    elif marks.epoch != value("epoch"):
        return  # another epoch's row in the same transaction: not this epoch's standings
    match row:
        case ProjectView():
            mark_project(marks, value)
        case PlanView() | ReportView():
            marks.project(value("project_id"), value("year"))
        case ProblemView():
            marks.county(
                value("county"), year_of(value("reported_on")), year_of(value("overdue_on"))
            )
        case AllocationView() | GrantView():
            marks.county(value("county"), value("year"))


def _old(row: Any) -> Callable[[str], Any]:
    def value(name: str) -> Any:
        history = orm_attributes.get_history(row, name)
        return history.deleted[0] if history.deleted else getattr(row, name)

    return value


def _new(row: Any) -> Callable[[str], Any]:
    return lambda name: getattr(row, name)


def _on_insert(_mapper: Mapper[Any], _connection: Any, row: Any) -> None:
    session = orm_attributes.instance_state(row).session
    if session is not None:
        _mark(session.info.setdefault(MARKS, Marks()), row, _new(row))


def _on_update(_mapper: Mapper[Any], _connection: Any, row: Any) -> None:
    session = orm_attributes.instance_state(row).session
    if session is not None:
        marks = session.info.setdefault(MARKS, Marks())
        _mark(marks, row, _old(row))  # what it counted in before (another county, year…)
        _mark(marks, row, _new(row))


for _model in (ProjectView, PlanView, ReportView, ProblemView, AllocationView, GrantView):
    event.listen(_model, "before_insert", _on_insert)
    event.listen(_model, "before_update", _on_update)
