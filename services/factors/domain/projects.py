"""What factors asks of a project before it serves it: that the registry's events have told
factors of it, and that it was not withdrawn (退出). Both are the projection's current state
(one registered just now may not have arrived yet), so both refusals are 409, not 422."""

from __future__ import annotations

from shared.errors import RuleViolation


def check_known(project_id: str, known: bool, field: str) -> None:
    if not known:
        message = (
            f"project {project_id} is not known to the factors service (it learns projects "
            "from the registry's events; a project registered moments ago may not have arrived)"
        )
        raise RuleViolation(message, errors=[{"field": field, "message": message}])


def check_not_withdrawn(project_id: str, withdrawn: bool) -> None:
    if withdrawn:
        raise RuleViolation(f"project {project_id} is withdrawn (退出); it receives no factors")
