"""The Department's units (its divisions), a list an admin keeps: added, renamed, retired.

The hotline service owns the list; assignment and the public statistics use it. A rename
carries the unit's tickets along; a retired unit stays on its old tickets and in the
statistics but can no longer be given new ones."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from console import hotline_desk as hd
from console.accounts import CurrentSession
from console.owners import OwnerRefused, OwnerUnavailable
from console.web import PREFIX, Form, owners_of, refused_page, render, requires, see_other
from minhbach_shared.auth import Role

router = APIRouter(prefix=f"{PREFIX}/units")

AdminOnly = requires(Role.ADMIN)
UnitId = Path(ge=1, le=2**31)
MAX_NAME = 300
SAYINGS = {
    "a unit needs a name": "Cần nhập tên đơn vị.",
}


def _say(message: str) -> str:
    if message.startswith("a unit named ") and " already exists" in message:
        return "Đã có đơn vị trùng tên này (kể cả đơn vị đã ngừng hoạt động)."
    return SAYINGS.get(message, hd.say(message))


def _page(
    request: Request,
    session: CurrentSession,
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    editing: int | None = None,
    problem: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    units: list[dict[str, Any]] = []
    if not problem:
        try:
            units = owners_of(request).call("hotline", "GET", "/v1/units", account=session.account)["items"]
        except OwnerUnavailable as down:
            problem = (
                f"Chưa đọc được danh sách đơn vị: {down.label} đang không phản hồi. Hãy thử lại sau ít phút."
            )
            status_code = 503
    return render(
        request,
        "units.html",
        status_code=status_code,
        units=units,
        typed=typed or {},
        errors=errors or {},
        editing=editing,
        problem=problem,
    )


@router.get("", response_class=HTMLResponse)
def list_units(request: Request, session: CurrentSession = AdminOnly) -> HTMLResponse:
    return _page(request, session)


def _read_name(form: Any) -> tuple[str, str]:
    """(what was typed, the error) for a unit's name."""
    raw = form.get("name", "")
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not name:
        return name, "Cần nhập tên đơn vị."
    if len(name) > MAX_NAME:
        return name, f"Dài tối đa {MAX_NAME} ký tự (hiện {len(name)})."
    return name, ""


def _send(
    request: Request,
    session: CurrentSession,
    method: str,
    path: str,
    body: dict[str, Any],
    *,
    key: str,
    typed: str,
    editing: int | None,
    message: str,
) -> Response:
    """One write to the hotline's list; a 422 beside its field, the owner down keeps the typing."""
    try:
        owners_of(request).call("hotline", method, path, account=session.account, json=body)
    except OwnerRefused as refused:
        if refused.status_code != 422:
            return refused_page(request, refused, message=_say(refused.detail))
        first = refused.errors[0] if refused.errors else {"message": refused.detail}
        return _page(
            request,
            session,
            typed={key: typed},
            errors={key: _say(str(first.get("message", "")))},
            editing=editing,
            status_code=422,
        )
    except OwnerUnavailable as down:
        return _page(
            request,
            session,
            typed={key: typed},
            editing=editing,
            problem=f"Chưa lưu được: {down.label} đang không phản hồi. Tên bạn nhập vẫn còn bên dưới; "
            "hãy gửi lại sau ít phút.",
            status_code=503,
        )
    return see_other(f"{PREFIX}/units", message=message)


@router.post("", response_class=HTMLResponse)
def add_unit(request: Request, form: Form, session: CurrentSession = AdminOnly) -> Response:
    name, error = _read_name(form)
    if error:
        return _page(request, session, typed={"new": name}, errors={"new": error}, status_code=422)
    return _send(
        request,
        session,
        "POST",
        "/v1/units",
        {"name": name},
        key="new",
        typed=name,
        editing=None,
        message="unit_added",
    )


@router.post("/{unit_id}", response_class=HTMLResponse)
def rename_unit(
    request: Request, form: Form, unit_id: int = UnitId, session: CurrentSession = AdminOnly
) -> Response:
    name, error = _read_name(form)
    key = f"unit-{unit_id}"
    if error:
        return _page(
            request, session, typed={key: name}, errors={key: error}, editing=unit_id, status_code=422
        )
    return _send(
        request,
        session,
        "PATCH",
        f"/v1/units/{unit_id}",
        {"name": name},
        key=key,
        typed=name,
        editing=unit_id,
        message="unit_renamed",
    )


@router.post("/{unit_id}/{change}", response_class=HTMLResponse)
def retire_or_restore(
    request: Request,
    form: Form,
    unit_id: int = UnitId,
    change: str = Path(pattern="^(retire|restore)$"),
    session: CurrentSession = AdminOnly,
) -> Response:
    """Retire a unit (no new tickets for it) or bring it back."""
    active = change == "restore"
    return _send(
        request,
        session,
        "PATCH",
        f"/v1/units/{unit_id}",
        {"active": active},
        key=f"unit-{unit_id}",
        typed="",
        editing=None,
        message="unit_restored" if active else "unit_retired",
    )
