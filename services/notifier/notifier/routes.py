"""The notifier API: thin translators onto services.Notifier."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from minhbach_shared import names
from minhbach_shared.auth import Role, require_roles
from notifier import schemas
from notifier.channels.center import board_stamps
from notifier.services import Notifier


def get_notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


NotifierDep = Annotated[Notifier, Depends(get_notifier)]
operator = require_roles(Role.OPERATOR)

router = APIRouter(prefix="/v1", tags=["notifier"])
center = APIRouter(prefix="/center", tags=["center"])
# A kiosk whose stream broke reconnects after this long (EventSource does it by itself).
RECONNECT_MS = 3000


@center.get("/stream", response_class=EventSourceResponse)
async def board_stream(request: Request) -> AsyncIterator[ServerSentEvent]:
    """The kiosk board's stamp now and at each change (event `board`, data {"stamp": ...})."""
    async for stamp in board_stamps(request.app.state.async_redis, request.app.state.settings.center_dir):
        yield ServerSentEvent(event="board", data={"stamp": stamp}, id=stamp, retry=RECONNECT_MS)


@router.get("/channels", response_model=list[schemas.ChannelRead])
def list_channels(notifier: NotifierDep) -> list[dict[str, object]]:
    return notifier.channel_status()


@router.get("/deliveries", response_model=schemas.DeliveryPage)
def list_deliveries(
    notifier: NotifierDep,
    status: Annotated[schemas.DeliveryStatusName | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=30)] = None,
    subject_kind: Annotated[str | None, Query(max_length=30)] = None,
    subject_id: Annotated[str | None, Query(max_length=120)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> schemas.DeliveryPage:
    items, total = notifier.list_deliveries(
        status=status,
        channel=channel,
        subject_kind=subject_kind,
        subject_id=subject_id,
        page=page,
        size=size,
    )
    return schemas.DeliveryPage(
        items=[schemas.DeliveryRead.model_validate(d) for d in items], total=total, page=page, size=size
    )


@router.post("/deliveries/{delivery_id}/retry", response_model=schemas.DeliveryRead, dependencies=[operator])
def retry_delivery(notifier: NotifierDep, delivery_id: Annotated[int, Path(ge=1)]) -> schemas.DeliveryRead:
    return schemas.DeliveryRead.model_validate(notifier.retry_delivery(delivery_id))


@router.post(
    "/channels/{name}/resync", response_model=schemas.ResyncRead, status_code=202, dependencies=[operator]
)
def resync_channel(notifier: NotifierDep, name: Annotated[str, Path(max_length=30)]) -> schemas.ResyncRead:
    return schemas.ResyncRead(channel=name, deliveries=notifier.resync(name))


@router.get("/disclosure/report", response_model=schemas.DisclosureReport)
def disclosure_report(notifier: NotifierDep) -> dict[str, object]:
    return notifier.disclosure_report()


@router.get("/ops/queues", response_model=schemas.QueuesRead)
def queues(notifier: NotifierDep, request: Request) -> schemas.QueuesRead:
    dispatcher = notifier.dispatcher
    dead = {c["name"]: c["dead"] for c in notifier.channel_status()}
    channel_of = {names.channel_queue(c): c for c in notifier.channels}
    out = []
    for queue in request.app.state.queues:
        stats = dispatcher.queue_stats(queue)  # type: ignore[attr-defined]
        out.append(schemas.QueueRead(**stats, dead_letters=dead.get(channel_of.get(queue, ""), 0)))
    return schemas.QueuesRead(
        queues=out,
        unacked=dispatcher.unacked(),  # type: ignore[attr-defined]
        channel_runs=dispatcher.runs(),  # type: ignore[attr-defined]
    )
