"""The documents desk: directive and legal documents filed with their relations (amends,
replaces) picked from the documents already filed, and corrected with a history of who
changed what (the content service keeps that history).

Every read and write is the content API's, called as the signed-in person: a document is
published as it is filed (no approval step: it is a filing of something already signed);
the pages offer writing to editors only, and approvers read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from console import accounts
from console import article_form as af
from console import document_form as dc
from console.accounts import CurrentSession
from console.owners import OwnerRefused, OwnerUnavailable
from console.web import PREFIX, Form, console_of, owners_of, refused_page, render, requires, see_other
from minhbach_shared.auth import Role

router = APIRouter(prefix=f"{PREFIX}/documents")

Staff = requires(Role.EDITOR, Role.APPROVER)
EditorOnly = requires(Role.EDITOR)
DocumentId = Path(ge=1, le=2**31 - 1)
LIST_SIZE = 30
# The filed documents a relation is picked from: the content API's pages of 100, at most this many.
PICK_PAGES = 10
PICK_SIZE = 100


def _document(request: Request, session: CurrentSession, document_id: int) -> dict[str, Any]:
    found: dict[str, Any] = owners_of(request).call(
        "content", "GET", f"/v1/documents/{document_id}", account=session.account
    )
    return found


def _refused_page(request: Request, refused: OwnerRefused) -> HTMLResponse:
    return refused_page(request, refused, message=dc.say(refused.detail))


# -- the list


@router.get("", response_class=HTMLResponse)
def list_documents(
    request: Request, session: CurrentSession = Staff, q: str = "", type: str = "", page: int = 1
) -> HTMLResponse:
    q = q.strip()[:200]
    kind = type.strip()[:100]
    page = max(min(page, 100_000), 1)
    params: dict[str, Any] = {"page": page, "size": LIST_SIZE}
    if q:
        params["q"] = q
    if kind:
        params["type"] = kind
    found = owners_of(request).call("content", "GET", "/v1/documents", account=session.account, params=params)
    query = {k: v for k, v in (("q", q), ("type", kind)) if v}
    return render(
        request,
        "documents.html",
        rows=found["items"],
        total=found["total"],
        page=page,
        pages=max(1, -(-found["total"] // LIST_SIZE)),
        q=q,
        kind=kind,
        query=query,
        types=dc.type_options(kind),
        can_create=session.account.has(Role.EDITOR),
        relation_labels=dc.RELATION_LABELS,
        inverse_labels=dc.INVERSE_LABELS,
        vn_date=dc.vn_date,
    )


# -- filing one


def _filed(request: Request, session: CurrentSession) -> tuple[list[dict[str, Any]], str]:
    """The documents already filed, newest first, to pick a relation's target; a problem
    when the list cannot be read (the form still works with what it holds)."""
    items: list[dict[str, Any]] = []
    try:
        for page in range(1, PICK_PAGES + 1):
            found = owners_of(request).call(
                "content",
                "GET",
                "/v1/documents",
                account=session.account,
                params={"page": page, "size": PICK_SIZE},
            )
            items.extend(found["items"])
            if len(items) >= found["total"] or not found["items"]:
                break
    except OwnerUnavailable as down:
        return items, f"Chưa tải được danh sách văn bản đã nhập: {down.label} đang không phản hồi."
    except OwnerRefused as refused:
        return items, f"Chưa tải được danh sách văn bản đã nhập: {dc.say(refused.detail)}"
    return items, ""


def _upload(request: Request, session: CurrentSession, form: Any, draft: dc.DocumentDraft) -> dict[str, str]:
    """The scan chosen in the form, sent to the content API; kept in the draft (its id in a
    hidden field from now on), or why not, by its field ({"attachment_file": ...}), or a
    problem ({"problem": ...}) when the content service is down."""
    chosen = form.get("attachment_file")
    if not (isinstance(chosen, UploadFile) and chosen.filename):
        return {}
    chosen.file.seek(0)
    try:
        stored = owners_of(request).upload(
            "content",
            "/v1/attachments",
            account=session.account,
            field="file",
            filename=chosen.filename,
            content=chosen.file.read(),
        )
    except OwnerRefused as refused:
        return {"attachment_file": f"{chosen.filename}: {dc.say(refused.detail)}"}
    except OwnerUnavailable as down:
        problem = f"Chưa tải tệp lên được: {down.label} đang không phản hồi. Hãy chọn lại tệp sau ít phút."
        return {"problem": problem}
    draft.attachment = af.Attached(str(stored["id"]), str(stored["filename"]))
    return {}


def _new_page(
    request: Request,
    session: CurrentSession,
    *,
    draft: dc.DocumentDraft,
    errors: dict[str, str] | None = None,
    problem: str = "",
    spare: int = 0,
    uploaded: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    filed, list_problem = _filed(request, session)
    return render(
        request,
        "document_form.html",
        status_code=status_code,
        document=None,
        d=draft,
        rows=draft.rows(spare),
        choices=dc.choices(filed, [r.number for r in draft.relations]),
        list_problem=list_problem,
        errors=errors or {},
        problem=problem,
        uploaded=uploaded,
        types=dc.type_options(draft.type),
        relation_labels=dc.RELATION_LABELS,
        labels=dc.FIELD_LABELS,
    )


@router.get("/new", response_class=HTMLResponse)
def new_document(request: Request, session: CurrentSession = EditorOnly) -> HTMLResponse:
    return _new_page(request, session, draft=dc.DocumentDraft())


@router.post("/new", response_class=HTMLResponse)
def file_document(request: Request, form: Form, session: CurrentSession = EditorOnly) -> Response:
    """Upload the scan if one is chosen, then: show the form again (a relation row asked
    for, or the upload alone), or file it. On any refusal the form comes back as typed,
    each error by its field."""
    draft = dc.read_form(form)
    intent = str(form.get("intent", "save"))
    spare = 1 if intent == "add_row" else 0
    upload = _upload(request, session, form, draft)
    if upload:
        problem = upload.pop("problem", "")
        return _new_page(
            request, session, draft=draft, errors=upload, problem=problem, status_code=503 if problem else 422
        )
    uploaded = draft.attachment.label if intent == "upload" and draft.attachment else ""
    if intent in ("add_row", "upload"):
        return _new_page(request, session, draft=draft, spare=spare, uploaded=uploaded)
    errors = dc.check(draft)
    if errors:
        return _new_page(request, session, draft=draft, errors=errors, status_code=422)
    try:
        saved = owners_of(request).call(
            "content", "POST", "/v1/documents", account=session.account, json=dc.to_create(draft)
        )
    except OwnerRefused as refused:
        if refused.status_code == 403:
            return _refused_page(request, refused)
        errors = dc.api_errors(refused.errors) if refused.status_code in (409, 422) else {}
        return _new_page(
            request,
            session,
            draft=draft,
            errors=errors or {"form": dc.say(refused.detail)},
            status_code=refused.status_code,
        )
    except OwnerUnavailable as down:
        return _new_page(
            request,
            session,
            draft=draft,
            problem=f"Chưa nhập được: {down.label} đang không phản hồi. Những gì bạn đã nhập vẫn còn "
            "trên trang này; hãy bấm “Nhập văn bản” lại sau ít phút.",
            status_code=503,
        )
    return see_other(f"{PREFIX}/documents/{saved['id']}", message="document_filed")


# -- one document, its relations and its history


@router.get("/{document_id}", response_class=HTMLResponse)
def show_document(
    request: Request, document_id: int = DocumentId, session: CurrentSession = Staff
) -> Response:
    owners = owners_of(request)
    try:
        document = _document(request, session, document_id)
        found = owners.call("content", "GET", f"/v1/documents/{document_id}/history", account=session.account)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    console = console_of(request)
    users = {found["filed_by"], *(item["corrected_by"] for item in found["items"])}
    names = accounts.display_names(console.engine, users)
    attachment = document.get("attachment")
    files = {str(attachment["id"]): str(attachment["filename"])} if attachment else {}
    return render(
        request,
        "document.html",
        doc=document,
        history=dc.history(found, names, files=files),
        filed_by=names.get(found["filed_by"]) or found["filed_by"],
        filed_at=af.vn_moment(found["filed_at"]),
        in_force=dc.in_force_label(document["in_force"]),
        portal_page=dc.portal_page(console.settings.portal_url, document),
        can_correct=session.account.has(Role.EDITOR),
        relation_labels=dc.RELATION_LABELS,
        inverse_labels=dc.INVERSE_LABELS,
        vn_date=dc.vn_date,
    )


# -- correcting one


def _correct_page(
    request: Request,
    *,
    document_id: int,
    document: dict[str, Any] | None,
    draft: dc.DocumentDraft,
    errors: dict[str, str] | None = None,
    problem: str = "",
    uploaded: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "document_correct.html",
        status_code=status_code,
        document_id=document_id,
        document=document,
        d=draft,
        errors=errors or {},
        problem=problem,
        uploaded=uploaded,
        types=dc.type_options(draft.type),
        relation_labels=dc.RELATION_LABELS,
        inverse_labels=dc.INVERSE_LABELS,
        labels=dc.FIELD_LABELS,
    )


@router.get("/{document_id}/correct", response_class=HTMLResponse)
def correction_form(
    request: Request, document_id: int = DocumentId, session: CurrentSession = EditorOnly
) -> Response:
    try:
        document = _document(request, session, document_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    return _correct_page(request, document_id=document_id, document=document, draft=dc.from_api(document))


@router.post("/{document_id}/correct", response_class=HTMLResponse)
def correct_document(
    request: Request, form: Form, document_id: int = DocumentId, session: CurrentSession = EditorOnly
) -> Response:
    """Send every field the form shows and the reason: the content API keeps, in the
    document's history, only the fields whose value changed, with their old values."""
    draft = dc.read_form(form)
    intent = str(form.get("intent", "save"))

    def again(**more: Any) -> HTMLResponse:
        try:
            document: dict[str, Any] | None = _document(request, session, document_id)
        except (OwnerRefused, OwnerUnavailable):
            document = None  # the page says what was typed; the number comes from the form
        return _correct_page(request, document_id=document_id, document=document, draft=draft, **more)

    upload = _upload(request, session, form, draft)
    if upload:
        problem = upload.pop("problem", "")
        return again(errors=upload, problem=problem, status_code=503 if problem else 422)
    if intent == "upload":
        return again(uploaded=draft.attachment.label if draft.attachment else "")
    errors = dc.check(draft, correcting=True)
    if errors:
        return again(errors=errors, status_code=422)
    try:
        owners_of(request).call(
            "content",
            "PATCH",
            f"/v1/documents/{document_id}",
            account=session.account,
            json=dc.to_correction(draft),
        )
    except OwnerRefused as refused:
        if refused.status_code in (403, 404):
            return _refused_page(request, refused)
        if refused.status_code == 422 and dc.nothing_changed(refused.errors):
            errors = {
                "form": "Chưa có gì để đính chính: mọi mục vẫn như hiện tại. Hãy sửa ít nhất một mục "
                "(lý do không tính là một thay đổi)."
            }
        else:
            errors = dc.api_errors(refused.errors) if refused.status_code == 422 else {}
        return again(errors=errors or {"form": dc.say(refused.detail)}, status_code=refused.status_code)
    except OwnerUnavailable as down:
        return again(
            problem=f"Chưa đính chính được: {down.label} đang không phản hồi. Những gì bạn đã sửa và lý do "
            "vẫn còn trên trang này; hãy bấm “Lưu đính chính” lại sau ít phút.",
            status_code=503,
        )
    return see_other(f"{PREFIX}/documents/{document_id}", message="document_corrected")
