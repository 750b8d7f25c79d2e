"""The unit of work every owning service uses: one write transaction, its events in it.

A service's repository records domain events as it persists entities; at commit they
are written to the outbox in the same transaction, and the relay is woken after: by
`outbox.relay_waker(redis, service)` in production, by a recorder in the unit tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import Engine, Table
from sqlalchemy.orm import Session

from minhbach_shared.db import WRITE
from minhbach_shared.events import Envelope
from minhbach_shared.outbox import add_events


class EventSource(Protocol):
    def __init__(self, session: Session) -> None: ...
    def persist(self) -> None: ...
    def collect_events(self) -> Sequence[Envelope]: ...


R = TypeVar("R", bound=EventSource)


class OutboxUnitOfWork(Generic[R]):
    """`with uow: ...; uow.commit()` — leaving the block without commit rolls back.

    Subclasses name their outbox table and repository class. `wake` is called after a
    commit that wrote events; losing a wake-up costs the relay one poll, nothing more.
    """

    outbox: ClassVar[Table]
    repository: ClassVar[type[Any]]
    repo: R

    def __init__(self, engine: Engine, wake: Callable[[], None]) -> None:
        self.engine = engine
        self.wake = wake
        self._session: Session | None = None

    def __enter__(self) -> OutboxUnitOfWork[R]:
        self._session = Session(self.engine, expire_on_commit=False)
        # Take the write lock up front (BEGIN IMMEDIATE on SQLite).
        self._session.connection(execution_options=WRITE)
        self.repo = self.repository(self._session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        self._session.rollback()
        self._session.close()
        self._session = None

    @property
    def session(self) -> Session:
        assert self._session is not None, "unit of work not entered"
        return self._session

    def commit(self) -> None:
        self.repo.persist()
        events = self.repo.collect_events()
        add_events(self.session, self.outbox, events)
        self.session.commit()
        if events:
            self.wake()
