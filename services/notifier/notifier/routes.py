"""The notifier API: thin translators onto the use cases (operations, subscriptions)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from jinja2 import Environment
from pydantic import ValidationError

from minhbach_shared.auth import Role, authorize, require_roles
from minhbach_shared.guard import GuardedRoute
from minhbach_shared.http import DomainError, RowId
from minhbach_shared.ratelimit import refuse_floods
from notifier import schemas
from notifier.channels.center import BoardWatch
from notifier.channels.pages import SITE_TITLE, page_environment
from notifier.channels.portal import PortalChannel
from notifier.operations import services as operations
from notifier.parts import Parts
from notifier.subscriptions import services as subscriptions
from notifier.subscriptions.domain import describe


def get_parts(request: Request) -> Parts:
    parts: Parts = request.app.state.parts
    return parts


PartsDep = Annotated[Parts, Depends(get_parts)]
operator = require_roles(Role.OPERATOR)
# Who follows one change to the channels: operators, and the editors and approvers whose
# decision made it (the console's disclosure tracker asks for one subject at a time).
FOLLOWERS = (Role.OPERATOR, Role.EDITOR, Role.APPROVER)


def _may_list_deliveries(
    request: Request,
    subject_kind: Annotated[str | None, Query(max_length=30)] = None,
    subject_id: Annotated[str | None, Query(max_length=120)] = None,
) -> None:
    """Every delivery is an operator's to list; one subject's, its followers' too. Never
    anonymous: a delivery names its subject and its error (stored without addresses)."""
    authorize(request, FOLLOWERS if subject_kind and subject_id else (Role.OPERATOR,))


router = APIRouter(prefix="/v1", tags=["notifier"], route_class=GuardedRoute)
center = APIRouter(prefix="/center", tags=["center"])
# A kiosk whose stream broke reconnects after this long (EventSource does it by itself).
RECONNECT_MS = 3000


def _room_for_a_stream(request: Request) -> BoardWatch:
    """A process holding its most streams answers 503 with Retry-After (the kiosk's
    EventSource tries again, and meanwhile reads board.json every few seconds)."""
    board: BoardWatch = request.app.state.board
    if board.full():
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="too many live streams open here; try again shortly",
            headers={"Retry-After": str(RECONNECT_MS // 1000)},
        )
    return board


@center.get("/stream", response_class=EventSourceResponse)
async def board_stream(
    board: Annotated[BoardWatch, Depends(_room_for_a_stream)],
) -> AsyncIterator[ServerSentEvent]:
    """The kiosk board's stamp now and at each change (event `board`, data {"stamp": ...})."""
    async for stamp in board.stamps():
        yield ServerSentEvent(event="board", data={"stamp": stamp}, id=stamp, retry=RECONNECT_MS)


@router.post(
    "/preview/procedure",
    response_class=HTMLResponse,
    dependencies=[require_roles(Role.EDITOR, Role.APPROVER)],
)
def preview_procedure(body: schemas.ProcedurePreview, parts: PartsDep) -> HTMLResponse:
    """A procedure's portal page for content not yet disclosed (the console's preview):
    rendered by the portal's own view and template, so it is exactly what will show."""
    portal = parts.channels.get("portal")
    if not isinstance(portal, PortalChannel):
        raise DomainError("the portal channel is not configured here")
    html = portal.preview_procedure(body.model_dump(exclude={"version"}), version=body.version)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/channels", response_model=list[schemas.ChannelRead], dependencies=[operator])
def list_channels(parts: PartsDep) -> list[dict[str, object]]:
    return operations.channel_status(parts)


@router.get("/deliveries", response_model=schemas.DeliveryPage, dependencies=[Depends(_may_list_deliveries)])
def list_deliveries(
    parts: PartsDep,
    status: Annotated[schemas.DeliveryStatusName | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=30)] = None,
    subject_kind: Annotated[str | None, Query(max_length=30)] = None,
    subject_id: Annotated[str | None, Query(max_length=120)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> schemas.DeliveryPage:
    items, total = operations.list_deliveries(
        parts,
        status=status,
        channel=channel,
        subject_kind=subject_kind,
        subject_id=subject_id,
        page=page,
        size=size,
    )
    one = (subject_kind, subject_id) if subject_kind and subject_id else None
    return schemas.DeliveryPage(
        items=[schemas.DeliveryRead.model_validate(d) for d in items],
        total=total,
        page=page,
        size=size,
        channels=parts.following(one) if one else None,
    )


@router.post("/deliveries/{delivery_id}/retry", response_model=schemas.DeliveryRead, dependencies=[operator])
def retry_delivery(parts: PartsDep, delivery_id: RowId) -> schemas.DeliveryRead:
    return schemas.DeliveryRead.model_validate(operations.retry_delivery(parts, delivery_id))


@router.post(
    "/channels/{name}/resync", response_model=schemas.ResyncRead, status_code=202, dependencies=[operator]
)
def resync_channel(parts: PartsDep, name: Annotated[str, Path(max_length=30)]) -> schemas.ResyncRead:
    return schemas.ResyncRead(channel=name, deliveries=operations.resync(parts, name))


@router.post(
    "/channels/{name}/retry",
    response_model=schemas.ChannelRetryRead,
    status_code=202,
    dependencies=[operator],
)
def retry_channel(parts: PartsDep, name: Annotated[str, Path(max_length=30)]) -> schemas.ChannelRetryRead:
    return schemas.ChannelRetryRead(channel=name, retried=operations.retry_channel(parts, name))


@router.get("/disclosure/report", response_model=schemas.DisclosureReport, dependencies=[operator])
def disclosure_report(parts: PartsDep) -> dict[str, object]:
    return operations.disclosure_report(parts)


@router.get("/ops/queues", response_model=schemas.QueuesRead, dependencies=[operator])
def queues(parts: PartsDep, request: Request) -> dict[str, Any]:
    return operations.queues(parts, request.app.state.queues)


@router.get("/ops/workers", response_model=schemas.WorkersRead, dependencies=[operator])
def workers(parts: PartsDep) -> dict[str, Any]:
    return {"workers": operations.workers(parts)}


@router.get("/ops/reconciliation", response_model=schemas.ReconciliationRead, dependencies=[operator])
def reconciliation(parts: PartsDep) -> dict[str, Any]:
    return operations.reconciliation(parts)


# -- subscriptions (public, no login) ----------------------------------------------------

public = APIRouter(prefix="/v1/public/subscriptions", tags=["subscriptions"], route_class=GuardedRoute)
Token = Annotated[str, Query(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _limit(request: Request) -> None:
    """A flood from one address gets 429 with Retry-After (confirmation mail costs someone's inbox)."""
    refuse_floods(request.app.state.subscribe_limiter, request, what="subscription requests")


Limited = Annotated[None, Depends(_limit)]


@public.post("", response_model=schemas.SubscribeAccepted, status_code=202)
def subscribe(body: schemas.SubscribeRequest, parts: PartsDep, _: Limited) -> schemas.SubscribeAccepted:
    """Ask to follow a procedure or a field; the address gets a confirmation link (double opt-in)."""
    subscriptions.subscribe(
        parts, str(body.email).lower(), procedure_code=body.procedure_code, field=body.field
    )
    return schemas.SubscribeAccepted()


@cache
def _pages() -> Environment:
    return page_environment()


def _page(
    request: Request,
    title: str,
    lines: list[str],
    *,
    status_code: int = 200,
    tone: str | None = None,
    errors: list[str] | None = None,
    action: str | None = None,
    button: str | None = None,
) -> HTMLResponse:
    """A small Vietnamese page in the portal's look, for people arriving from a form or an e-mail."""
    html = (
        _pages()
        .get_template("subscription.html")
        .render(
            root=f"{request.app.state.settings.portal_url}/",
            site=SITE_TITLE,
            title=title,
            lines=lines,
            tone=tone,
            errors=errors or [],
            action=action,
            button=button,
        )
    )
    return HTMLResponse(html, status_code=status_code)


def _refused(request: Request, exc: DomainError) -> HTMLResponse:
    reasons = [f"{e.get('field', '')}: {e.get('message', '')}" for e in exc.errors] or [exc.message]
    return _page(
        request,
        "Chưa thể thực hiện",
        [exc.message],
        status_code=exc.status_code,
        tone="ended",
        errors=reasons,
    )


@public.post("/form", response_class=HTMLResponse)
def subscribe_form(
    request: Request,
    parts: PartsDep,
    _: Limited,
    email: Annotated[str, Form(max_length=254)] = "",
    procedure_code: Annotated[str, Form(max_length=120)] = "",
    field: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    """The portal's plain HTML form (works without JavaScript, from another origin): answers a page."""
    values: dict[str, Any] = {
        "email": email,
        "procedure_code": procedure_code or None,
        "field": field or None,
    }
    try:
        body = schemas.SubscribeRequest.model_validate(values)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        ]
        return _page(
            request,
            "Thông tin chưa hợp lệ",
            ["Vui lòng kiểm tra lại địa chỉ e-mail rồi gửi lại."],
            status_code=422,
            tone="ended",
            errors=problems,
        )
    try:
        subscriptions.subscribe(
            parts, str(body.email).lower(), procedure_code=body.procedure_code, field=body.field
        )
    except DomainError as exc:
        return _refused(request, exc)
    return _page(
        request,
        "Đã nhận yêu cầu đăng ký",
        [
            "Chúng tôi vừa gửi một thư xác nhận tới địa chỉ e-mail bạn nhập.",
            "Mời mở thư và bấm vào liên kết xác nhận để bắt đầu nhận thông báo khi thủ tục thay đổi.",
        ],
        tone="done",
    )


@public.get("/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, token: Token) -> HTMLResponse:
    # A GET changes nothing: mail scanners open links too. The button POSTs.
    return _page(
        request,
        "Xác nhận đăng ký nhận thông báo",
        ["Bấm nút dưới đây để xác nhận bạn muốn nhận thông báo khi thủ tục hành chính thay đổi."],
        action=f"confirm?token={token}",
        button="Xác nhận đăng ký",
    )


@public.post("/confirm", response_class=HTMLResponse)
def confirm(request: Request, parts: PartsDep, token: Token) -> HTMLResponse:
    try:
        sub = subscriptions.confirm_subscription(parts, token)
    except DomainError as exc:
        return _refused(request, exc)
    return _page(
        request,
        "Đăng ký đã được xác nhận",
        [
            f"Từ nay bạn sẽ nhận thư khi {_target(sub)} có thay đổi.",
            "Mỗi thư đều có liên kết để hủy đăng ký.",
        ],
        tone="done",
    )


@public.get("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: Token) -> HTMLResponse:
    return _page(
        request,
        "Hủy đăng ký nhận thông báo",
        ["Bấm nút dưới đây để không nhận thêm thư thông báo nào nữa."],
        action=f"unsubscribe?token={token}",
        button="Hủy đăng ký",
    )


@public.post("/unsubscribe", response_class=HTMLResponse)
def unsubscribe(request: Request, parts: PartsDep, token: Token) -> HTMLResponse:
    """Also the RFC 8058 one-click target (its body, List-Unsubscribe=One-Click, is not needed)."""
    try:
        sub = subscriptions.unsubscribe(parts, token)
    except DomainError as exc:
        return _refused(request, exc)
    return _page(request, "Đã hủy đăng ký", [f"Bạn sẽ không nhận thêm thư về {_target(sub)}."], tone="done")


def _target(sub: Any) -> str:
    return describe(sub.target_kind, sub.target_key, sub.target_label)
