"""The registry API in a process of its own that dies (SIGKILL, at once, nothing more runs) at
one point of a project's registration: what the Idempotency-Key crash test retries against.

    python -m tests.support.dying_registry SETTINGS_JSON PORT WHEN

WHEN is `before-commit` (the project's row inserted, its transaction not committed),
`after-commit` (committed, the answer not yet sent) or `never`."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.registry.main import SERVICE
from shared.config import ServiceSettings
from shared.http.app import build_app


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def die_at(when: str) -> None:
    # A registration inserts its project with a plain INSERT (no ORM flush to watch), so the
    # statement itself is the point: executed and not committed, or committed
    registering: list[bool] = []

    @event.listens_for(Engine, "after_cursor_execute")
    def inserted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PROJECTS"):
            if when == "before-commit":
                die()
            registering.append(True)

    @event.listens_for(Session, "after_commit")
    def registered(session: Session) -> None:
        if registering and when == "after-commit":
            die()


def main(settings_json: str, port: str, when: str) -> None:
    if when != "never":
        die_at(when)
    app = build_app(SERVICE, ServiceSettings.model_validate_json(settings_json))
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")


if __name__ == "__main__":
    main(*sys.argv[1:4])
