"""What a piece of code asks the database: for tests that a batch reads its rows once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncEngine


@contextlib.contextmanager
def tables_read(engine: AsyncEngine) -> Iterator[list[str]]:
    """The table each SELECT on `engine` reads (the first after FROM), in order, while open."""
    tables: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        if words[0] == "SELECT" and "FROM" in words:
            tables.append(words[words.index("FROM") + 1])

    sa_event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield tables
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", note)


async def tables_read_by_batch(
    runtime: Any, batch: list[tuple[Any, Any]], before_batch: Any, handlers: Mapping[str, Any]
) -> list[str]:
    """`batch` (events and payloads) applied in one transaction of `runtime`, as its inbox
    consumer applies a batch (`before_batch`, then each event's handler); the tables read."""
    with tables_read(runtime.session_factory.kw["bind"]) as reads:
        async with runtime.session_factory() as session, session.begin():
            await before_batch(session, batch)
            for event, payload in batch:
                await handlers[event.type](session, event, payload)
    return reads
