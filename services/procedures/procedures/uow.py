"""The unit of work: one write transaction, its outbox rows in the same commit."""

from __future__ import annotations

from minhbach_shared.uow import OutboxUnitOfWork
from procedures.db import outbox
from procedures.repository import Repository


class UnitOfWork(OutboxUnitOfWork[Repository]):
    """`with uow: ...; uow.commit()` — leaving the block without commit rolls back."""

    outbox = outbox
    repository = Repository
