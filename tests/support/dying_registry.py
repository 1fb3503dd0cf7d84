"""The registry API in a process of its own that dies (SIGKILL, at once, nothing more runs) at
one point of a project's registration: what the Idempotency-Key crash test retries against.

    python -m tests.support.dying_registry SETTINGS_JSON PORT WHEN

WHEN is `before-commit` (the registration is flushed, its transaction not committed),
`after-commit` (committed, the answer not yet sent) or `never`."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import uvicorn
from sqlalchemy import event
from sqlalchemy.orm import Session

from services.registry.main import SERVICE
from services.registry.models import Project
from shared.config import ServiceSettings
from shared.http.app import build_app


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def die_at(when: str) -> None:
    @event.listens_for(Session, "after_flush")
    def registering(session: Session, _: Any) -> None:
        if any(isinstance(o, Project) for o in session.new):
            if when == "before-commit":
                die()
            session.info["registers"] = True

    @event.listens_for(Session, "after_commit")
    def registered(session: Session) -> None:
        if session.info.pop("registers", False) and when == "after-commit":
            die()


def main(settings_json: str, port: str, when: str) -> None:
    if when != "never":
        die_at(when)
    app = build_app(SERVICE, ServiceSettings.model_validate_json(settings_json))
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")


if __name__ == "__main__":
    main(*sys.argv[1:4])
