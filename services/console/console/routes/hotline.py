"""The hotline desk: the queue, the intake of a phone call, a ticket's page and its actions,
the answer composer with the public preview.

Every read and write is the hotline API's, called as the signed-in person: the states,
the working-day deadlines and the redaction are its rules; the pages offer only what the
ticket's state (its `allowed_actions`) and the person's roles allow, keep what was typed
when the API refuses or is down, and answer a refusal with a page, never a 500."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from console import hotline_desk as hd
from console.accounts import CurrentSession
from console.owners import OwnerRefused, OwnerUnavailable
from console.web import (
    PREFIX,
    Forbidden,
    Form,
    console_of,
    owners_of,
    refused_page,
    render,
    requires,
    see_other,
)
from minhbach_shared.auth import Role

router = APIRouter(prefix=f"{PREFIX}/hotline")

Desk = requires(Role.HOTLINE, Role.APPROVER)
OfficerOnly = requires(Role.HOTLINE)
ApproverOnly = requires(Role.APPROVER)
TicketId = Path(ge=1, le=2**53)
ActionName = Path(pattern=r"^[a-z-]{2,20}$")
QUEUE_SIZE = 50


def _ticket(request: Request, session: CurrentSession, ticket_id: int) -> dict[str, Any]:
    found: dict[str, Any] = owners_of(request).call(
        "hotline", "GET", f"/v1/tickets/{ticket_id}", account=session.account
    )
    return found


def _units(request: Request, session: CurrentSession, *, retired: bool = False) -> list[str]:
    """The Department's units by name (in service only, unless `retired`); empty when the
    hotline cannot be asked (the form then takes the name as typed and the API checks it)."""
    try:
        found = owners_of(request).call("hotline", "GET", "/v1/units", account=session.account)
    except (OwnerRefused, OwnerUnavailable):
        return []
    return [str(u["name"]) for u in found.get("items", []) if retired or u.get("active")]


def _refused_page(request: Request, refused: OwnerRefused) -> HTMLResponse:
    if refused.status_code == 404:
        return refused_page(request, refused, message="Không tìm thấy phản ánh này. Hãy mở lại từ danh sách.")
    return refused_page(request, refused, message=hd.say(refused.detail))


def _down(label: str, what: str) -> str:
    return (
        f"Chưa {what} được: {label} đang không phản hồi. Những gì bạn đã nhập vẫn còn trên trang "
        "này; hãy gửi lại sau ít phút."
    )


# -- the queue


@router.get("", response_class=HTMLResponse)
def queue(
    request: Request,
    session: CurrentSession = Desk,
    status: str = "open",
    unit: str = "",
    kind: str = "",
    channel: str = "",
    page: int = 1,
) -> HTMLResponse:
    """Tickets by the nearest running deadline, each marked on time, due today or overdue."""
    params: dict[str, Any] = {"order": "due", "size": QUEUE_SIZE, "page": max(page, 1)}
    if status in hd.STATUS_LABELS:
        params["status"] = [status]
    elif status != "all":
        status = "open"
        params["status"] = list(hd.OPEN_STATUSES)
    if unit.strip():
        params["unit"] = unit.strip()[:300]
    if kind in hd.KIND_LABELS:
        params["kind"] = kind
    if channel in hd.CHANNEL_LABELS:
        params["channel"] = channel
    found = owners_of(request).call("hotline", "GET", "/v1/tickets", account=session.account, params=params)
    today = hd.today_in_vietnam()
    rows = [{"t": t, "mark": hd.deadline_mark(t.get("due_on"), today=today)} for t in found["items"]]
    counts = {
        state: sum(1 for r in rows if r["mark"] and r["mark"].state == state)
        for state in ("overdue", "today", "on_time")
    }
    return render(
        request,
        "hotline_queue.html",
        rows=rows,
        total=found["total"],
        page=params["page"],
        pages=max(1, -(-found["total"] // QUEUE_SIZE)),
        status=status,
        unit=unit,
        kind=kind if kind in hd.KIND_LABELS else "",
        channel=channel if channel in hd.CHANNEL_LABELS else "",
        counts=counts,
        statuses=hd.STATUS_LABELS,
        kinds=hd.KIND_LABELS,
        channels=hd.CHANNEL_LABELS,
        units=_units(request, session, retired=True),
        can_log=session.account.has(Role.HOTLINE),
        today=today,
    )


# -- logging a phone call


def _intake_page(
    request: Request,
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "hotline_new.html",
        status_code=status_code,
        v=typed or {"channel": "phone", "kind": "phan_anh"},
        errors=errors or {},
        problem=problem,
        labels=hd.INTAKE_LABELS,
        kinds=hd.KIND_LABELS,
        channels=hd.CHANNEL_LABELS,
    )


@router.get("/new", response_class=HTMLResponse)
def new_ticket(request: Request, session: CurrentSession = OfficerOnly) -> HTMLResponse:
    return _intake_page(request)


@router.post("/new", response_class=HTMLResponse)
def log_call(request: Request, form: Form, session: CurrentSession = OfficerOnly) -> Response:
    typed, body, errors = hd.read_intake(form)
    if errors:
        return _intake_page(request, typed=typed, errors=errors, status_code=422)
    try:
        saved = owners_of(request).call("hotline", "POST", "/v1/tickets", account=session.account, json=body)
    except OwnerRefused as refused:
        errors = hd.api_errors(refused.errors, hd.INTAKE_LABELS) if refused.status_code == 422 else {}
        if errors.get("procedure_code") == "could not be checked":
            errors["procedure_code"] = "Chưa kiểm tra được mã thủ tục; hãy thử lại sau ít phút."
        return _intake_page(
            request,
            typed=typed,
            errors=errors or {"form": hd.say(refused.detail)},
            status_code=refused.status_code,
        )
    except OwnerUnavailable as down:
        return _intake_page(request, typed=typed, problem=_down(down.label, "ghi nhận"), status_code=503)
    return see_other(f"{PREFIX}/hotline/{saved['id']}", message="ticket_logged")


# -- one ticket: its facts, its timeline, the actions allowed now


def _ticket_page(
    request: Request,
    session: CurrentSession,
    ticket: dict[str, Any],
    *,
    action: str = "",
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    roles = session.account.roles
    allowed = [str(a) for a in ticket.get("allowed_actions") or []]
    portal_url = console_of(request).settings.portal_url
    return render(
        request,
        "hotline_ticket.html",
        status_code=status_code,
        t=ticket,
        mark=hd.deadline_mark(hd.running_due_on(ticket)),
        actions=hd.actions_for(ticket, roles),
        composer=any(
            hd.available(hd.ALL_ACTIONS[a], allowed, roles) for a in ("answer", "approve", "publish")
        )
        or bool(ticket.get("answer")),
        action=action,
        typed=typed or {},
        errors=errors or {},
        problem=problem,
        steps=hd.STEP_LABELS,
        statuses=hd.STATUS_LABELS,
        kinds=hd.KIND_LABELS,
        channels=hd.CHANNEL_LABELS,
        answer_page=hd.portal_answer_page(portal_url, str(ticket["tracking_code"])),
        notes=[line for line in str(ticket.get("internal_notes") or "").splitlines() if line.strip()],
        choices={"units": _units(request, session)} if "assign" in allowed else {},
    )


@router.get("/{ticket_id}", response_class=HTMLResponse)
def show_ticket(request: Request, ticket_id: int = TicketId, session: CurrentSession = Desk) -> Response:
    try:
        ticket = _ticket(request, session, ticket_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    return _ticket_page(request, session, ticket)


def _action_page(
    request: Request,
    ticket_id: int,
    spec: hd.ActionSpec,
    typed: dict[str, str],
    problem: str,
    *,
    errors: dict[str, str] | None = None,
    digest: str = "",
    status_code: int = 503,
) -> HTMLResponse:
    """One action's form alone, as it was typed: when the ticket cannot be read to show it
    in its page (the hotline service is down)."""
    return render(
        request,
        "hotline_action.html",
        status_code=status_code,
        ticket_id=ticket_id,
        spec=spec,
        typed=typed,
        errors=errors or {},
        problem=problem,
        digest=digest,
    )


def _after_refusal(
    request: Request,
    session: CurrentSession,
    ticket_id: int,
    spec: hd.ActionSpec,
    typed: dict[str, str],
    refused: OwnerRefused,
    *,
    composer: bool,
) -> Response:
    """A 422 beside the fields, a 409 (the state moved on) above the actions now allowed."""
    if refused.status_code not in (409, 422):
        return _refused_page(request, refused)
    errors = (
        hd.api_errors(refused.errors, [f.name for f in spec.fields]) if refused.status_code == 422 else {}
    )
    problem = "" if errors else hd.say(refused.detail)
    try:
        ticket = _ticket(request, session, ticket_id)
    except OwnerUnavailable as down:
        return _action_page(request, ticket_id, spec, typed, _down(down.label, "lưu"), errors=errors)
    if composer:
        return _composer_page(
            request,
            session,
            ticket,
            typed=typed,
            errors=errors,
            problem=problem,
            status_code=refused.status_code,
        )
    return _ticket_page(
        request,
        session,
        ticket,
        action=spec.name,
        typed=typed,
        errors=errors,
        problem=problem,
        status_code=refused.status_code,
    )


def _act(
    request: Request,
    session: CurrentSession,
    form: Any,
    ticket_id: int,
    spec: hd.ActionSpec,
    *,
    composer: bool = False,
    extra: dict[str, Any] | None = None,
) -> Response:
    if not session.account.has(*spec.roles):
        raise Forbidden()
    typed, body, errors = hd.read_action(spec, form)
    body.update(extra or {})
    back = f"{PREFIX}/hotline/{ticket_id}" + ("/answer" if composer else "")
    if errors:
        try:
            ticket = _ticket(request, session, ticket_id)
        except OwnerUnavailable as down:
            return _action_page(request, ticket_id, spec, typed, _down(down.label, "lưu"), errors=errors)
        except OwnerRefused as refused:
            return _refused_page(request, refused)
        if composer:
            return _composer_page(request, session, ticket, typed=typed, errors=errors, status_code=422)
        return _ticket_page(
            request, session, ticket, action=spec.name, typed=typed, errors=errors, status_code=422
        )
    path = f"/v1/tickets/{ticket_id}/" + ("notes" if spec.name == "note" else spec.name)
    try:
        owners_of(request).call("hotline", "POST", path, account=session.account, json=body)
    except OwnerRefused as refused:
        return _after_refusal(request, session, ticket_id, spec, typed, refused, composer=composer)
    except OwnerUnavailable as down:
        return _action_page(
            request,
            ticket_id,
            spec,
            typed,
            _down(down.label, "lưu"),
            digest=str((extra or {}).get("preview_digest") or ""),
        )
    return see_other(back, message=spec.message)


# -- the answer composer: the officer's answer beside exactly what the public will see


def _composer_page(
    request: Request,
    session: CurrentSession,
    ticket: dict[str, Any],
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    preview_problem = ""
    preview: dict[str, Any] | None = None
    try:
        preview = owners_of(request).call(
            "hotline", "GET", f"/v1/tickets/{ticket['id']}/publication-preview", account=session.account
        )
    except OwnerUnavailable as down:
        preview_problem = f"Chưa xem được bản công khai: {down.label} đang không phản hồi."
    roles = session.account.roles
    allowed = [str(a) for a in ticket.get("allowed_actions") or []]
    typed = typed if typed is not None else {"answer": str(ticket.get("answer") or "")}
    portal_url = console_of(request).settings.portal_url
    return render(
        request,
        "hotline_answer.html",
        status_code=status_code,
        t=ticket,
        p=preview,
        marked=hd.marked,
        hidden_count=hd.redactions(preview["subject"], preview["question"], preview["answer"])
        if preview
        else 0,
        preview_problem=preview_problem,
        can_answer=hd.available(hd.ANSWER, allowed, roles),
        can_approve=hd.available(hd.APPROVE, allowed, roles) and preview is not None,
        can_publish=hd.available(hd.PUBLISH, allowed, roles),
        answer_spec=hd.ANSWER,
        approve_spec=hd.APPROVE,
        publish_spec=hd.PUBLISH,
        typed=typed,
        errors=errors or {},
        problem=problem,
        statuses=hd.STATUS_LABELS,
        answer_page=hd.portal_answer_page(portal_url, str(ticket["tracking_code"])),
        mark=hd.deadline_mark(hd.running_due_on(ticket)),
    )


@router.get("/{ticket_id}/answer", response_class=HTMLResponse)
def composer(request: Request, ticket_id: int = TicketId, session: CurrentSession = Desk) -> Response:
    try:
        ticket = _ticket(request, session, ticket_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    return _composer_page(request, session, ticket)


@router.post("/{ticket_id}/answer", response_class=HTMLResponse)
def save_answer(
    request: Request, form: Form, ticket_id: int = TicketId, session: CurrentSession = OfficerOnly
) -> Response:
    return _act(request, session, form, ticket_id, hd.ANSWER, composer=True)


@router.post("/{ticket_id}/approve", response_class=HTMLResponse)
def approve(
    request: Request, form: Form, ticket_id: int = TicketId, session: CurrentSession = ApproverOnly
) -> Response:
    """Approve exactly the preview the approver saw: its digest goes with the approval, and
    the API refuses it if the text changed since."""
    digest = str(form.get("preview_digest", ""))
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return render(
            request,
            "problem.html",
            status_code=422,
            title="Chưa phê duyệt được",
            message="Biểu mẫu thiếu dấu của bản công khai đã xem. Hãy mở lại trang trả lời và xem lại.",
        )
    return _act(
        request, session, form, ticket_id, hd.APPROVE, composer=True, extra={"preview_digest": digest}
    )


@router.post("/{ticket_id}/publish", response_class=HTMLResponse)
def publish(
    request: Request, form: Form, ticket_id: int = TicketId, session: CurrentSession = ApproverOnly
) -> Response:
    return _act(request, session, form, ticket_id, hd.PUBLISH, composer=True)


@router.post("/{ticket_id}/{action}", response_class=HTMLResponse)
def act(
    request: Request,
    form: Form,
    ticket_id: int = TicketId,
    action: str = ActionName,
    session: CurrentSession = Desk,
) -> Response:
    spec = hd.ACTIONS.get(action)
    if spec is None:
        return render(
            request,
            "problem.html",
            status_code=404,
            title="Không tìm thấy",
            message="Không có việc này cho phản ánh. Hãy mở lại trang phản ánh.",
        )
    return _act(request, session, form, ticket_id, spec)
