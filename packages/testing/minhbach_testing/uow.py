"""An owning service's units of work for service-layer tests: a real migrated SQLite copy,
and a recorder in place of the relay's wake-up, so no Redis and no process is needed.

    with sqlite_units_of_work(UnitOfWork, tmp_path / "procedures.db", MIGRATIONS) as units:
        services.create_procedure(units(), data, actor="editor")  # a fresh unit of work per use case
        assert types(units.new_events()) == [] and units.wakes.count == 0
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from minhbach_shared.db import make_engine
from minhbach_shared.uow import OutboxUnitOfWork
from minhbach_testing.plugin import migrated_sqlite

U = TypeVar("U", bound=OutboxUnitOfWork[Any])
P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class WakeRecorder:
    """Stands in for `outbox.relay_waker`: counts the wake-ups a unit of work gave the relay."""

    count: int = 0

    def __call__(self) -> None:
        self.count += 1


class UnitsOfWork(Generic[U]):
    """Call it for a new unit of work (it is a `uow_factory` too); read what they wrote."""

    def __init__(self, uow_class: type[U], engine: Engine) -> None:
        self.uow_class = uow_class
        self.engine = engine
        self.wakes = WakeRecorder()
        self._read_up_to = 0

    def __call__(self) -> U:
        return self.uow_class(self.engine, self.wakes)

    def read(self, query: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """What a read use case (`services.get_...(session, ...)`) says now, in a session of its own."""
        with Session(self.engine) as session:
            return query(session, *args, **kwargs)

    def outbox(self) -> list[dict[str, Any]]:
        """Every envelope in the outbox, oldest first."""
        return [envelope for _, envelope in self._rows(after=0)]

    def new_events(self) -> list[dict[str, Any]]:
        """The envelopes written since the previous call, oldest first."""
        rows = self._rows(after=self._read_up_to)
        if rows:
            self._read_up_to = rows[-1][0]
        return [envelope for _, envelope in rows]

    def _rows(self, *, after: int) -> list[tuple[int, dict[str, Any]]]:
        table = self.uow_class.outbox
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.seq, table.c.envelope).where(table.c.seq > after).order_by(table.c.seq)
            ).all()
        return [(int(seq), json.loads(envelope)) for seq, envelope in rows]


@contextmanager
def sqlite_units_of_work(uow_class: type[U], path: Path, migrations: Path) -> Iterator[UnitsOfWork[U]]:
    """`uow_class`'s units of work on a fresh copy of its migrated database at `path`."""
    engine = make_engine(migrated_sqlite(path, migrations))
    try:
        yield UnitsOfWork(uow_class, engine)
    finally:
        engine.dispose()


def types(envelopes: list[dict[str, Any]]) -> list[str]:
    """The envelopes' event types, in order: what most assertions compare."""
    return [e["type"] for e in envelopes]


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent to `engine` inside the block, as sent (an executemany
    counts once): what a test of how a use case reads or writes counts or looks into."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
