"""What a consumer's transaction keeps between the events of its batch (the inbox applies a batch
in one transaction): a memo per transaction, and the projection rows it has read or made.

`TransactionRows` is how a handler finds and makes a projection's rows. A row read or made earlier
in the transaction (a batch's events of one project) comes from memory; any other is read and
locked without flushing first, so the rows the batch makes are inserted together, not one INSERT
(one round trip) before each next event's read. A `before_batch` hook can `load` the rows a batch
is about in one statement; `get` then finds each in memory, a row or a known absence. Only rows
made through `new` may be pending when `get` reads, and each of those is found in memory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
Ident = tuple[type, tuple[tuple[str, Any], ...]]


def transaction_memo(session: AsyncSession, name: str) -> dict[Any, Any]:
    """A dict that lives as long as the session's current transaction, one per `name`."""
    transaction = session.sync_session.get_transaction()
    held: tuple[Any, dict[Any, Any]] | None = session.info.get(name)
    if held is None or held[0] is not transaction:
        held = session.info[name] = (transaction, {})
    return held[1]


def _ident(model: type, key: Mapping[str, Any]) -> Ident:
    return model, tuple(sorted(key.items()))


@dataclass(frozen=True, slots=True)
class TransactionRows:
    """The rows of `session`'s current transaction, by model and primary key, locked as they
    are read (`SELECT ... FOR UPDATE` on PostgreSQL)."""

    session: AsyncSession

    def _known(self) -> dict[Ident, Any]:
        return transaction_memo(self.session, "transaction_rows")

    async def get(self, model: type[T], key: Mapping[str, Any]) -> T | None:
        ident = _ident(model, key)
        known = self._known()
        if ident in known:
            row: T | None = known[ident]
            return row
        with self.session.no_autoflush:
            found = await self.session.get(model, dict(key), with_for_update=True)
        if found is not None:
            known[ident] = found
        return found

    def new(self, model: type[T], **key: Any) -> T:
        """A new row at `key` (its other columns unset), inserted with the transaction's next
        flush."""
        row = model(**key)
        self.session.add(row)
        self._known()[_ident(model, key)] = row
        return row

    async def load(
        self, model: type[Any], column: str, values: Iterable[Any], **fixed: Any
    ) -> None:
        """Read and lock in one statement the rows whose key is `fixed` plus `column` at each of
        `values`, so that `get` finds each in memory: the row, or None where there is none (as
        a `get` of it would have said)."""
        known = self._known()
        wanted = {_ident(model, fixed | {column: v}): v for v in set(values)}
        for ident in known.keys() & wanted.keys():
            del wanted[ident]
        if not wanted:
            return
        by = getattr(model, column)
        statement = select(model).where(by.in_(sorted(wanted.values())))
        for name, value in fixed.items():
            statement = statement.where(getattr(model, name) == value)
        with self.session.no_autoflush:
            # in key order: two transactions lock their common rows in the same order
            found = await self.session.scalars(statement.order_by(by).with_for_update())
            for row in found:
                known[_ident(model, fixed | {column: getattr(row, column)})] = row
        for ident in wanted:
            known.setdefault(ident, None)
