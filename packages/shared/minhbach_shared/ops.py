"""What every owning service tells its operators: how far behind its outbox is."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import Engine, Table

from minhbach_shared.auth import Role, require_roles
from minhbach_shared.guard import GuardedRoute
from minhbach_shared.outbox import OutboxCollector, outbox_backlog


class OutboxRead(BaseModel):
    owner: str
    unsent: int = Field(description="events not yet handed to the notifier")
    oldest_unsent_at: datetime | None
    oldest_age_s: float = Field(description="age of the oldest unsent event (0: none)")
    last_sent_at: datetime | None = Field(description="when the relay last sent an event")


def outbox_router(engine: Engine, table: Table, *, owner: str) -> APIRouter:
    """GET /v1/ops/outbox (operators): the console's operations page shows it per owner."""
    router = APIRouter(prefix="/v1/ops", tags=["operations"], route_class=GuardedRoute)

    @router.get("/outbox", response_model=OutboxRead, dependencies=[require_roles(Role.OPERATOR)])
    def outbox() -> OutboxRead:
        backlog = outbox_backlog(engine, table, owner=owner)
        return OutboxRead(
            owner=owner,
            unsent=backlog.unsent,
            oldest_unsent_at=backlog.oldest_unsent_at,
            oldest_age_s=round(backlog.oldest_age_s(datetime.now(UTC)), 3),
            last_sent_at=backlog.last_sent_at,
        )

    return router


def report_outbox(app: FastAPI, engine: Engine, table: Table, *, owner: str) -> None:
    """An owner's outbox on its /metrics (after install_platform) and at GET /v1/ops/outbox."""
    app.state.metrics.register(OutboxCollector(engine, table, owner=owner))
    app.include_router(outbox_router(engine, table, owner=owner))
