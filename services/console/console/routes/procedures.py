"""Procedures: the list with search and filters, the form for every component, the
preview as the portal will show it, the versions and their differences."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from console import procedure_form as pf
from console.accounts import CurrentSession
from console.owners import OwnerRefused, OwnerUnavailable
from console.web import PREFIX, Form, owners_of, render, requires, see_other
from minhbach_shared.auth import Role

router = APIRouter(prefix=f"{PREFIX}/procedures")

Staff = requires(Role.EDITOR, Role.APPROVER)
EditorOnly = requires(Role.EDITOR)
Code = Path(max_length=50, pattern=r"^[A-Za-z0-9._-]+$")
PAGE_SIZE = 50


def _versions(request: Request, session: CurrentSession, code: str) -> list[dict[str, Any]]:
    """The versions put in force, oldest first; none for a procedure never in force."""
    try:
        answer = owners_of(request).call(
            "procedures", "GET", f"/v1/procedures/{quote(code)}/versions", account=session.account
        )
    except OwnerRefused as refused:
        if refused.status_code == 404:
            return []
        raise
    return list(answer["items"])


@router.get("", response_class=HTMLResponse)
def list_procedures(
    request: Request,
    session: CurrentSession = Staff,
    q: str = "",
    field: str = "",
    status: str = "",
    page: int = 1,
) -> HTMLResponse:
    params: dict[str, Any] = {"page": max(page, 1), "size": PAGE_SIZE}
    if q.strip():
        params["q"] = q.strip()[:200]
    if field.strip():
        params["field"] = field.strip()[:200]
    if status in pf.STATUS_LABELS:
        params["status"] = status
    found = owners_of(request).call(
        "procedures", "GET", "/v1/procedures", account=session.account, params=params
    )
    pages = max(1, -(-found["total"] // PAGE_SIZE))
    return render(
        request,
        "procedures.html",
        found=found,
        q=q,
        field=field,
        status=status,
        page=params["page"],
        pages=pages,
        statuses=pf.STATUS_LABELS,
        can_create=session.account.has(Role.EDITOR),
    )


def _form_page(
    request: Request,
    *,
    code: str | None,
    content: dict[str, Any],
    rows: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: str = "",
    missing: list[str] | None = None,
    procedure: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "procedure_form.html",
        status_code=status_code,
        code=code,
        c=content,
        rows=rows or pf.form_rows(content),
        errors=errors or {},
        problem=problem,
        missing=pf.missing_components(content) if missing is None else missing,
        procedure=procedure,
        labels=pf.LABELS,
        time_units=pf.TIME_UNITS,
        online_levels=pf.ONLINE_SERVICE,
        levels=pf.LEVELS,
        components=[n for n in pf.LABELS if n != "code"],
    )


@router.get("/new", response_class=HTMLResponse)
def new_procedure(request: Request, session: CurrentSession = EditorOnly) -> HTMLResponse:
    return _form_page(request, code=None, content={})


def _save(request: Request, session: CurrentSession, form: Any, *, code: str | None) -> Response:
    """Create (code None) or update a draft from the posted form; on any refusal the
    form comes back with what was typed and each error beside its component."""
    content, problems = pf.content_from_form(form)
    new_code = str(form.get("code", "")).strip() if code is None else code
    errors = {p.field: p.message for p in problems}
    if code is None and not new_code:
        errors["code"] = "Cần nhập mã thủ tục (ví dụ 1.009994 hoặc MB.XD.013)."
    if not content.get("name"):
        errors["name"] = "Cần nhập tên thủ tục."
    rows = pf.rows_from_form(form)
    adding = str(form.get("add_row", ""))
    if adding:
        # "Thêm dòng": the same form again with one more blank row; nothing is saved.
        pf.add_row(rows, adding)
        kept = {**content, "code": new_code}
        return _form_page(request, code=code, content=kept, rows=rows, errors={})
    if errors:
        return _form_page(
            request,
            code=code,
            content={**content, "code": new_code},
            rows=rows,
            errors=errors,
            status_code=422,
        )
    owners = owners_of(request)
    try:
        if code is None:
            saved = owners.call(
                "procedures",
                "POST",
                "/v1/procedures",
                account=session.account,
                json={"code": new_code, **content},
            )
        else:
            # Every component is sent: one left empty on the form is cleared (null).
            body = {name: content.get(name) for name in pf.LABELS if name not in ("code", "name")}
            body["name"] = content["name"]
            saved = owners.call(
                "procedures", "PATCH", f"/v1/procedures/{quote(code)}", account=session.account, json=body
            )
    except OwnerRefused as refused:
        field_errors: dict[str, str] = {}
        for api_field, message in refused.field_errors().items():
            field_errors.setdefault(pf.field_of(api_field), message)
        if refused.status_code == 409 and code is None:
            field_errors["code"] = (
                f"Mã {new_code} đã có trong hệ thống: chọn mã khác, hoặc mở thủ tục đó để sửa."
            )
        elif refused.status_code == 404:
            field_errors["form"] = f"Không tìm thấy thủ tục {code}: có thể nó vừa bị xoá."
        elif not field_errors:
            field_errors["form"] = f"Hệ thống thủ tục từ chối: {refused.detail}"
        return _form_page(
            request,
            code=code,
            content={**content, "code": new_code},
            rows=rows,
            errors=field_errors,
            status_code=refused.status_code,
        )
    except OwnerUnavailable as down:
        return _form_page(
            request,
            code=code,
            content={**content, "code": new_code},
            rows=rows,
            problem=f"Chưa lưu được: {down.label} đang không phản hồi. Những gì bạn đã nhập vẫn còn "
            "trên trang này; hãy bấm Lưu lại sau ít phút.",
            status_code=503,
        )
    return see_other(f"{PREFIX}/procedures/{quote(saved['code'])}", message="draft_saved")


@router.post("/new", response_class=HTMLResponse)
def create_procedure(request: Request, form: Form, session: CurrentSession = EditorOnly) -> Response:
    return _save(request, session, form, code=None)


@router.get("/{code}", response_class=HTMLResponse)
def show_procedure(request: Request, code: str = Code, session: CurrentSession = Staff) -> HTMLResponse:
    owners = owners_of(request)
    draft = owners.call("procedures", "GET", f"/v1/procedures/{quote(code)}/draft", account=session.account)
    versions = _versions(request, session, code)
    in_force = versions[-1]["content"] if versions else None
    changes = (
        [d for d in pf.diff_contents(in_force or {}, draft) if d.changed]
        if draft.get("has_working_draft")
        else []
    )
    return render(
        request,
        "procedure.html",
        p=draft,
        versions=versions,
        draft_changes=changes,
        has_version=bool(in_force),
        missing_labels=[pf.LABELS[m] for m in draft.get("missing", [])],
        status_label=pf.STATUS_LABELS.get(draft["status"], draft["status"]),
        can_edit=session.account.has(Role.EDITOR) and draft["status"] in ("draft", "in_force"),
        labels=pf.LABELS,
    )


@router.get("/{code}/edit", response_class=HTMLResponse)
def edit_procedure(request: Request, code: str = Code, session: CurrentSession = EditorOnly) -> HTMLResponse:
    draft = owners_of(request).call(
        "procedures", "GET", f"/v1/procedures/{quote(code)}/draft", account=session.account
    )
    content = {name: draft.get(name) for name in pf.LABELS if name != "code"}
    return _form_page(request, code=code, content=content, missing=draft.get("missing"), procedure=draft)


@router.post("/{code}/edit", response_class=HTMLResponse)
def update_procedure(
    request: Request, form: Form, code: str = Code, session: CurrentSession = EditorOnly
) -> Response:
    return _save(request, session, form, code=code)


@router.get("/{code}/preview", response_class=HTMLResponse)
def preview_procedure(request: Request, code: str = Code, session: CurrentSession = Staff) -> Response:
    """The page exactly as the portal will render it, by the notifier's own templates."""
    owners = owners_of(request)
    draft = owners.call("procedures", "GET", f"/v1/procedures/{quote(code)}/draft", account=session.account)
    html = owners.call_text(
        "notifier",
        "POST",
        "/v1/preview/procedure",
        account=session.account,
        json={name: draft.get(name) for name in (*pf.LABELS, "version")},
    )
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "no-store",
            # The portal's page carries its own style; nothing else may run or load.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:",
        },
    )


@router.get("/{code}/history", response_class=HTMLResponse)
def procedure_history(
    request: Request,
    code: str = Code,
    session: CurrentSession = Staff,
    a: str = "",
    b: str = "",
) -> HTMLResponse:
    """Any two versions side by side; "draft" stands for the working draft."""
    owners = owners_of(request)
    versions = _versions(request, session, code)
    draft = owners.call("procedures", "GET", f"/v1/procedures/{quote(code)}/draft", account=session.account)
    by_key: dict[str, dict[str, Any]] = {str(v["version"]): v["content"] for v in versions}
    choices = [(str(v["version"]), f"Phiên bản {v['version']}") for v in versions]
    if draft.get("has_working_draft") or draft["status"] == "draft":
        by_key["draft"] = {name: draft.get(name) for name in pf.LABELS if name != "code"}
        choices.append(("draft", "Bản nháp đang soạn"))
    keys = [k for k, _ in choices]
    right = b if b in by_key else (keys[-1] if keys else "")
    left = a if a in by_key else (keys[-2] if len(keys) > 1 else right)
    diff = pf.diff_contents(by_key.get(left, {}), by_key.get(right, {})) if right else []
    return render(
        request,
        "procedure_history.html",
        p=draft,
        versions=versions,
        choices=choices,
        left=left,
        right=right,
        diff=diff,
        labels=dict(choices),
    )
