"""Unit of work: one transaction for a use case, and the events it emits go into the outbox in
that same transaction. Use cases take a UnitOfWork and never commit anything else.

A caller that runs several use cases one after another (a demo loader) may open the unit of
work itself and hand it to each: a use case entering a unit of work that is already open joins
its transaction, and the caller's `async with` commits them all together. A joined use case
that fails dooms the whole transaction: nothing of it is committed, even when the caller
catches the error, so no use case is ever half-written.

A request with an Idempotency-Key hands its use cases a `HeldTransaction` instead: they write
into the request's one transaction and the Idempotency-Key middleware commits it together with
the answer it stores (shared/idempotency.py), so a process that dies in between leaves both or
neither."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.errors import PayloadTooLarge
from shared.events.envelope import MAX_EVENT_BYTES, CloudEvent
from shared.outbox import write_event


class EventPayload(Protocol):
    TYPE: ClassVar[str]

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


@dataclass
class HeldTransaction:
    """One transaction that its holder commits: the use cases of the request flush into it,
    and the after-commit hooks of those that emitted wait for `commit`."""

    session: AsyncSession
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    async def commit(self) -> None:
        await self.session.commit()
        hooks, self.after_commit = self.after_commit, []
        for hook in hooks:
            hook()


class UnitOfWork:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        outbox: Table,
        source: str,
        topic: str,
        after_commit: Callable[[], None] | None = None,
        held: HeldTransaction | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._held = held
        self.outbox = outbox
        self.source = source
        self.topic = topic
        self._after_commit = after_commit
        self._session: AsyncSession | None = None
        self._joined = 0  # use cases inside the caller's open transaction
        self._failed: BaseException | None = None  # what a joined use case raised
        self.emitted: list[CloudEvent] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        if self._session is not None:  # already open: join its transaction
            self._joined += 1
            return self
        if self._held is not None:
            self._session = self._held.session
            if not self._session.in_transaction():  # a read of the request may have begun it
                await self._session.begin()
        else:
            self._session = self._session_factory()
            await self._session.begin()
        self.emitted = []
        self._failed = None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._joined:
            self._joined -= 1
            if exc is not None and self._failed is None:
                self._failed = exc
            return
        if self._held is not None:
            await self._leave_held(exc_type is None)
            return
        session = self.session
        try:
            if exc_type is None and self._failed is not None:
                await session.rollback()
                raise RuntimeError(
                    "a use case in this unit of work failed; nothing of it was committed"
                ) from self._failed
            if exc_type is None and session.in_transaction():
                await session.commit()
                if self.emitted and self._after_commit:
                    self._after_commit()
            else:
                await session.rollback()
        finally:
            await session.close()
            self._session = None

    async def _leave_held(self, succeeded: bool) -> None:
        held, session = self._held, self.session
        assert held is not None
        self._session = None
        if succeeded and self._failed is None:
            try:
                await session.flush()
            except BaseException:
                await session.rollback()
                held.after_commit.clear()
                raise
            if self.emitted and self._after_commit:
                held.after_commit.append(self._after_commit)
            return
        # Everything the request wrote goes, not only this use case: nothing half-written.
        await session.rollback()
        held.after_commit.clear()
        if succeeded:  # a joined use case failed and the caller caught it
            raise RuntimeError(
                "a use case in this unit of work failed; nothing of it was committed"
            ) from self._failed

    async def emit(
        self,
        payload: BaseModel,
        *,
        subject: str,
        county: str | None,
        actor: str,
        sequence: int,
        key: str | None = None,
    ) -> CloudEvent:
        """Record `payload` (a catalogue model with a TYPE) as an event of this transaction."""
        event = await record_event(
            self.session,
            self.outbox,
            payload,
            source=self.source,
            topic=self.topic,
            subject=subject,
            county=county,
            actor=actor,
            sequence=sequence,
            key=key,
        )
        self.emitted.append(event)
        return event


async def record_event(
    session: AsyncSession,
    outbox: Table,
    payload: BaseModel,
    *,
    source: str,
    topic: str,
    subject: str,
    county: str | None,
    actor: str,
    sequence: int,
    key: str | None = None,
) -> CloudEvent:
    """Write `payload` as an event into `outbox` within the session's transaction. Use cases go
    through `UnitOfWork.emit`; an event handler that reacts with an event of its own calls this
    with the inbox transaction's session, so the reaction commits with the event's effect."""
    event = CloudEvent(
        source=source,
        type=payload.TYPE,  # type: ignore[attr-defined]
        subject=subject,
        data=payload.model_dump(mode="json"),
        county=county,
        actor=actor,
        sequence=sequence,
        partitionkey=key or subject,
    )
    body = event.to_json()
    size = len(body)
    if size > MAX_EVENT_BYTES:
        # Refused here, in the request, so an event no broker would take never reaches
        # the outbox (where it would block every event after it).
        raise PayloadTooLarge(
            f"the change is too large to publish ({size} bytes, at most {MAX_EVENT_BYTES})"
        )
    await write_event(session, outbox, topic, event, body)
    return event
