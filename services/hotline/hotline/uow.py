"""The unit of work: one write transaction, its outbox rows in the same commit."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hotline.db import outbox
from hotline.repository import Repository
from minhbach_shared.db import WRITE
from minhbach_shared.outbox import add_events, wake_relay

SERVICE = "hotline"


class UnitOfWork:
    """`with uow: ...; uow.commit()` — leaving the block without commit rolls back."""

    repo: Repository

    def __init__(self, engine: Engine, redis: Any) -> None:
        self.engine = engine
        self.redis = redis
        self._session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        self._session = Session(self.engine, expire_on_commit=False)
        # Take the write lock up front (BEGIN IMMEDIATE on SQLite).
        self._session.connection(execution_options=WRITE)
        self.repo = Repository(self._session)
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
        add_events(self.session, outbox, events)
        self.session.commit()
        if events:
            wake_relay(self.redis, SERVICE)
