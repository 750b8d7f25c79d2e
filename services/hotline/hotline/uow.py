"""The unit of work: one write transaction, its outbox rows in the same commit."""

from __future__ import annotations

from hotline.db import outbox
from hotline.repository import Repository
from minhbach_shared.uow import OutboxUnitOfWork


class UnitOfWork(OutboxUnitOfWork[Repository]):
    """`with uow: ...; uow.commit()` — leaving the block without commit rolls back."""

    outbox = outbox
    repository = Repository
