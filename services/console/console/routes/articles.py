"""The content desk: articles by state and category, the editor with its preview, the
approver's review (difference, publish or schedule, send back, unpublish, revisions).

Every read and write is the content API's, called as the signed-in person: the states,
the four-eyes rule and the schedule are the API's; the pages only offer what the role
and the state allow (the API's `allowed_actions`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.datastructures import UploadFile

from console import article_form as af
from console.accounts import CurrentSession
from console.owners import OwnerRefused, OwnerUnavailable
from console.web import PREFIX, Form, console_of, owners_of, refused_page, render, requires, see_other
from minhbach_shared.auth import Role

router = APIRouter(prefix=f"{PREFIX}/articles")

Staff = requires(Role.EDITOR, Role.APPROVER)
EditorOnly = requires(Role.EDITOR)
ApproverOnly = requires(Role.APPROVER)
ArticleId = Path(ge=1, le=2**53)
RevisionNo = Path(ge=1, le=2**31)
LIST_SIZE = 30
PICKS = 10  # the procedure picker's results
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _article(request: Request, session: CurrentSession, article_id: int) -> dict[str, Any]:
    found: dict[str, Any] = owners_of(request).call(
        "content", "GET", f"/v1/articles/{article_id}/draft", account=session.account
    )
    return found


def _refused_page(request: Request, refused: OwnerRefused) -> HTMLResponse:
    return refused_page(
        request,
        refused,
        message=af.say(refused.detail),
        reopen="Hãy mở lại trang bài viết để xem trạng thái hiện tại.",
    )


def _state_page(request: Request, article: dict[str, Any], what: str) -> HTMLResponse:
    state = af.STATE_LABELS.get(af.state_of(article), article["state"])
    return render(
        request,
        "problem.html",
        status_code=409,
        title="Trạng thái không cho phép",
        message=f"Bài “{article['content']['title']}” đang ở trạng thái “{state}”: {what}",
    )


# -- the list


@router.get("", response_class=HTMLResponse)
def list_articles(
    request: Request,
    session: CurrentSession = Staff,
    state: str = "",
    category: str = "",
    q: str = "",
    page: int = 1,
) -> HTMLResponse:
    state = state if state in af.STATE_LABELS else ""
    category = category if category in af.CATEGORY_LABELS else ""
    q = q.strip()[:200]
    page = max(page, 1)
    params: dict[str, Any] = {**af.STATE_QUERIES.get(state, {}), "page": page, "size": LIST_SIZE}
    if category:
        params["category"] = category
    if q:
        params["q"] = q
    found = owners_of(request).call(
        "content", "GET", "/v1/desk/articles", account=session.account, params=params
    )
    rows = [
        {
            **item,
            "desk_state": af.STATE_LABELS.get(af.state_of(item), item["state"]),
            "public": af.public_label(item.get("public_status")),
            "category_label": af.CATEGORY_LABELS.get(item["category"], item["category"]),
        }
        for item in found["items"]
    ]
    query = {k: v for k, v in (("state", state), ("category", category), ("q", q)) if v}
    return render(
        request,
        "articles.html",
        rows=rows,
        total=found["total"],
        page=page,
        pages=max(1, -(-found["total"] // LIST_SIZE)),
        state=state,
        category=category,
        q=q,
        query=query,
        states=af.STATE_LABELS,
        categories=af.CATEGORY_LABELS,
        can_create=session.account.has(Role.EDITOR),
        vn_moment=af.vn_moment,
    )


# -- the editor


@dataclass
class Uploads:
    errors: dict[str, str] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    problem: str = ""


def _chosen(value: Any) -> bool:
    return isinstance(value, UploadFile) and bool(value.filename)


def _upload(request: Request, session: CurrentSession, file: UploadFile) -> dict[str, Any]:
    file.file.seek(0)
    found: dict[str, Any] = owners_of(request).upload(
        "content",
        "/v1/attachments",
        account=session.account,
        field="file",
        filename=file.filename or "tep",
        content=file.file.read(),
    )
    return found


def _take_uploads(request: Request, session: CurrentSession, form: Any, draft: af.ArticleDraft) -> Uploads:
    """The files chosen in the form, sent to the content API; each kept one goes into the
    draft (its id in a hidden field from now on), each refused one says why by its field."""
    out = Uploads()
    cover = form.get("cover_file")
    files = [f for f in form.getlist("attachment_files") if _chosen(f)]
    try:
        if _chosen(cover):
            stored = _upload(request, session, cover)
            if stored["content_type"] not in IMAGE_TYPES:
                out.errors["cover_file"] = (
                    f"{cover.filename}: ảnh đại diện phải là ảnh (PNG, JPEG, GIF hoặc WebP), không phải PDF."
                )
            else:
                draft.cover = af.Attached(stored["id"], stored["filename"])
                out.done.append(stored["filename"])
        refused: list[str] = []
        for file in files:
            try:
                stored = _upload(request, session, file)
            except OwnerRefused as no:
                refused.append(f"{file.filename}: {af.say(no.detail)}")
                continue
            if stored["id"] not in {a.id for a in draft.attachments}:
                draft.attachments.append(af.Attached(stored["id"], stored["filename"]))
            out.done.append(stored["filename"])
        if refused:
            out.errors["attachment_files"] = " ".join(refused)
    except OwnerRefused as no:
        out.errors["cover_file"] = f"{cover.filename}: {af.say(no.detail)}"
    except OwnerUnavailable as down:
        out.problem = (
            f"Chưa tải tệp lên được: {down.label} đang không phản hồi. Hãy chọn lại tệp sau ít phút."
        )
    return out


@dataclass
class Found:
    """The procedure picker's search: what was asked, what the register found (None: not asked)."""

    q: str = ""
    items: list[dict[str, Any]] | None = None
    problem: str = ""


def _find_procedures(request: Request, session: CurrentSession, q: str) -> Found:
    """Procedures in force matching `q` (accent-insensitive: the register's own search)."""
    q = q.strip()[:200]
    if not q:
        return Found(q, None, "Gõ tên hoặc mã thủ tục để tìm.")
    try:
        found = owners_of(request).call(
            "procedures", "GET", "/v1/procedures", account=session.account, params={"q": q, "size": PICKS}
        )
    except (OwnerUnavailable, OwnerRefused):
        return Found(q, None, "Chưa tìm được: danh mục thủ tục đang không phản hồi. Có thể gõ mã trực tiếp.")
    return Found(q, [{"code": p["code"], "name": p["name"]} for p in found.get("items", [])])


def _form_page(
    request: Request,
    *,
    article: dict[str, Any] | None,
    draft: af.ArticleDraft,
    errors: dict[str, str] | None = None,
    problem: str = "",
    uploaded: list[str] | None = None,
    preview: str | None = None,
    preview_problem: str = "",
    found: Found | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "article_form.html",
        status_code=status_code,
        article=article,
        d=draft,
        errors=errors or {},
        problem=problem,
        uploaded=uploaded or [],
        preview=preview,
        preview_problem=preview_problem,
        found=found or Found(),
        picked=af.split_codes(draft.procedure_codes),
        categories=af.CATEGORY_LABELS,
        labels=af.FIELD_LABELS,
    )


def _preview(request: Request, session: CurrentSession, body: str) -> tuple[str | None, str]:
    try:
        shown = owners_of(request).call(
            "content", "POST", "/v1/articles/preview", account=session.account, json={"body": body}
        )
    except OwnerUnavailable as down:
        return None, f"Chưa xem trước được: {down.label} đang không phản hồi. Nội dung bạn viết vẫn còn."
    except OwnerRefused as refused:
        return None, f"Chưa xem trước được: {af.say(refused.detail)}"
    return str(shown["body_html"]), ""


def _compose(request: Request, session: CurrentSession, form: Any, *, article_id: int | None) -> Response:
    """Upload the files chosen, then: show the form again (with the preview, or after an
    upload), or save it (create or a new revision) and, asked to, submit it. On any refusal
    the form comes back as typed, each error by its field."""
    draft = af.read_form(form)
    intent = str(form.get("intent", "save"))
    picked = form.get("add_procedure")
    if isinstance(picked, str) and af.CODE.match(picked.strip()):
        draft.procedure_codes = af.add_code(draft.procedure_codes, picked.strip())
        intent = "find-procedures"  # the list stays as it was, the code added
    article = {"id": article_id, "content": {"title": draft.title}} if article_id is not None else None
    uploads = _take_uploads(request, session, form, draft)
    if uploads.errors or uploads.problem:
        return _form_page(
            request,
            article=article,
            draft=draft,
            errors=uploads.errors,
            problem=uploads.problem,
            uploaded=uploads.done,
            status_code=503 if uploads.problem else 422,
        )
    if intent in ("preview", "upload", "find-procedures"):
        preview, preview_problem = (
            _preview(request, session, draft.body) if intent == "preview" else (None, "")
        )
        found = (
            _find_procedures(request, session, str(form.get("procedure_q", "")))
            if intent == "find-procedures"
            else None
        )
        return _form_page(
            request,
            article=article,
            draft=draft,
            uploaded=uploads.done,
            preview=preview,
            preview_problem=preview_problem,
            found=found,
        )
    errors = af.check(draft)
    if errors:
        return _form_page(
            request, article=article, draft=draft, errors=errors, uploaded=uploads.done, status_code=422
        )
    owners = owners_of(request)
    try:
        if article_id is None:
            saved = owners.call(
                "content", "POST", "/v1/articles", account=session.account, json=af.to_api(draft)
            )
            article_id = int(saved["id"])
            article = {"id": article_id, "content": {"title": draft.title}}
        else:
            owners.call(
                "content",
                "PATCH",
                f"/v1/articles/{article_id}",
                account=session.account,
                json=af.to_api(draft),
            )
        if intent == "submit":
            owners.call("content", "POST", f"/v1/articles/{article_id}/submit", account=session.account)
    except OwnerRefused as refused:
        if refused.status_code == 422:
            errors = af.api_errors(refused.errors) or {"form": af.say(refused.detail)}
            return _form_page(request, article=article, draft=draft, errors=errors, status_code=422)
        if refused.status_code in (403, 404):
            return _refused_page(request, refused)
        return _form_page(
            request,
            article=article,
            draft=draft,
            problem=f"Chưa lưu được: {af.say(refused.detail)}",
            status_code=refused.status_code,
        )
    except OwnerUnavailable as down:
        saved_note = (
            " Bài đã được lưu nhưng chưa trình." if article is not None and intent == "submit" else ""
        )
        return _form_page(
            request,
            article=article,
            draft=draft,
            problem=f"Chưa lưu được: {down.label} đang không phản hồi.{saved_note} Những gì bạn nhập vẫn "
            "còn trên trang này; hãy bấm lưu lại sau ít phút.",
            status_code=503,
        )
    message = "article_submitted" if intent == "submit" else "article_saved"
    return see_other(f"{PREFIX}/articles/{article_id}", message=message)


@router.post("/preview", response_class=HTMLResponse)
def live_preview(request: Request, form: Form, session: CurrentSession = EditorOnly) -> HTMLResponse:
    """The body as the portal will show it, as a fragment for the editor's live preview
    (article_editor.js); the content service renders and sanitises it."""
    body = af.read_form({"body": form.get("body", "")}).body
    try:
        shown = owners_of(request).call(
            "content", "POST", "/v1/articles/preview", account=session.account, json={"body": body}
        )
    except OwnerUnavailable as down:
        problem = f"Chưa xem trước được: {down.label} đang không phản hồi. Nội dung bạn viết vẫn còn."
        return HTMLResponse(str(Markup('<p class="error-box">{}</p>').format(problem)), status_code=503)
    except OwnerRefused as refused:
        problem = f"Chưa xem trước được: {af.say(refused.detail)}"
        return HTMLResponse(str(Markup('<p class="error-box">{}</p>').format(problem)), status_code=422)
    return HTMLResponse(str(shown["body_html"]))


@router.get("/new", response_class=HTMLResponse)
def new_article(request: Request, session: CurrentSession = EditorOnly) -> HTMLResponse:
    return _form_page(request, article=None, draft=af.ArticleDraft())


@router.post("/new", response_class=HTMLResponse)
def create_article(request: Request, form: Form, session: CurrentSession = EditorOnly) -> Response:
    return _compose(request, session, form, article_id=None)


def _file_names(request: Request, session: CurrentSession, article: dict[str, Any]) -> dict[str, str]:
    """The names of the live revision's files (the public view has them); others show a short id."""
    if not article.get("live_revision"):
        return {}
    try:
        live = owners_of(request).call("content", "GET", f"/v1/articles/{article['id']}", account=None)
    except (OwnerRefused, OwnerUnavailable):
        return {}
    return {str(a["id"]): str(a["filename"]) for a in live.get("attachments") or []}


@router.get("/{article_id}/edit", response_class=HTMLResponse)
def edit_article(
    request: Request, article_id: int = ArticleId, session: CurrentSession = EditorOnly
) -> Response:
    try:
        article = _article(request, session, article_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    if "edit" not in article["allowed_actions"]:
        return _state_page(request, article, "chỉ sửa được bài đang soạn, đã đăng hoặc đã gỡ.")
    draft = af.from_api(article["content"], _file_names(request, session, article))
    return _form_page(request, article=article, draft=draft)


@router.post("/{article_id}/edit", response_class=HTMLResponse)
def update_article(
    request: Request, form: Form, article_id: int = ArticleId, session: CurrentSession = EditorOnly
) -> Response:
    return _compose(request, session, form, article_id=article_id)


# -- the article page: state, the difference, and what this person may do now


def _article_page(
    request: Request,
    session: CurrentSession,
    article: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    problem: str = "",
    schedule: af.Schedule | None = None,
    reason: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    me = session.account
    offer = af.offer(article, editor=me.has(Role.EDITOR), approver=me.has(Role.APPROVER), me=me.username)
    diff = None
    diff_problem = ""
    if article.get("live_revision") and article["head"] != article["live_revision"]:
        try:
            diff = owners_of(request).call(
                "content",
                "GET",
                f"/v1/articles/{article['id']}/revisions/{article['head']}/diff",
                account=me,
            )
        except OwnerRefused as refused:
            diff_problem = af.say(refused.detail)
    content = article["content"]
    portal_url = console_of(request).settings.portal_url.rstrip("/")
    folder = af.PORTAL_FOLDERS.get(content["category"], "tin-tuc")
    return render(
        request,
        "article.html",
        status_code=status_code,
        a=article,
        c=content,
        desk_state=af.STATE_LABELS.get(af.state_of(article), article["state"]),
        public=af.public_label(article.get("public_status")),
        category=af.CATEGORY_LABELS.get(content["category"], content["category"]),
        offer=offer,
        diff=diff,
        diff_lines=af.diff_lines(diff["diff"]) if diff else [],
        changed=af.changed_labels(diff["changed_fields"]) if diff else [],
        diff_problem=diff_problem,
        portal_page=f"{portal_url}/{folder}/{article['slug']}.html" if article.get("live_revision") else "",
        errors=errors or {},
        problem=problem,
        schedule=schedule or af.Schedule(),
        reason=reason,
        vn_moment=af.vn_moment,
    )


@router.get("/{article_id}", response_class=HTMLResponse)
def show_article(request: Request, article_id: int = ArticleId, session: CurrentSession = Staff) -> Response:
    try:
        article = _article(request, session, article_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    return _article_page(request, session, article)


def _transition(
    request: Request, session: CurrentSession, article_id: int, action: str, message: str, json: Any = None
) -> Response:
    try:
        owners_of(request).call(
            "content", "POST", f"/v1/articles/{article_id}/{action}", account=session.account, json=json
        )
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    return see_other(f"{PREFIX}/articles/{article_id}", message=message)


@router.post("/{article_id}/submit", response_class=HTMLResponse)
def submit_article(
    request: Request, form: Form, article_id: int = ArticleId, session: CurrentSession = EditorOnly
) -> Response:
    return _transition(request, session, article_id, "submit", "article_submitted")


@router.post("/{article_id}/unpublish", response_class=HTMLResponse)
def unpublish_article(
    request: Request, form: Form, article_id: int = ArticleId, session: CurrentSession = ApproverOnly
) -> Response:
    return _transition(request, session, article_id, "unpublish", "article_unpublished")


@router.post("/{article_id}/archive", response_class=HTMLResponse)
def archive_article(
    request: Request, form: Form, article_id: int = ArticleId, session: CurrentSession = ApproverOnly
) -> Response:
    return _transition(request, session, article_id, "archive", "article_archived")


@router.post("/{article_id}/publish", response_class=HTMLResponse)
def publish_article(
    request: Request, form: Form, article_id: int = ArticleId, session: CurrentSession = ApproverOnly
) -> Response:
    now_intent = str(form.get("intent", "now")) != "schedule"
    schedule = af.Schedule(
        publish_at=str(form.get("publish_at", "")).strip()[:40],
        expire_at=str(form.get("expire_at", "")).strip()[:40],
    )
    errors = af.check_schedule(schedule, now_intent=now_intent)
    problem = ""
    status_code = 422
    if not errors:
        try:
            owners_of(request).call(
                "content",
                "POST",
                f"/v1/articles/{article_id}/publish",
                account=session.account,
                json=af.schedule_body(schedule, now_intent=now_intent),
            )
        except OwnerRefused as refused:
            if refused.status_code != 422:
                return _refused_page(request, refused)
            errors = af.api_errors(refused.errors) or {"form": af.say(refused.detail)}
        except OwnerUnavailable as down:
            problem = f"Chưa đăng được: {down.label} đang không phản hồi. Hãy thử lại sau ít phút."
            status_code = 503
        else:
            return see_other(
                f"{PREFIX}/articles/{article_id}",
                message="article_published" if now_intent else "article_scheduled",
            )
    try:
        article = _article(request, session, article_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    except OwnerUnavailable as down:
        return render(
            request,
            "problem.html",
            status_code=503,
            title="Tạm thời chưa làm được",
            message=problem or f"Không kết nối được {down.label}. Hãy thử lại sau ít phút.",
        )
    return _article_page(
        request, session, article, errors=errors, problem=problem, schedule=schedule, status_code=status_code
    )


@router.post("/{article_id}/send-back", response_class=HTMLResponse)
def send_back_article(
    request: Request, form: Form, article_id: int = ArticleId, session: CurrentSession = ApproverOnly
) -> Response:
    reason = str(form.get("reason", "")).strip()
    errors: dict[str, str] = {}
    problem = ""
    status_code = 422
    if not reason:
        errors["reason"] = "Hãy ghi lý do trả lại, để người viết biết cần sửa gì."
    elif len(reason) > af.MAX_REASON:
        errors["reason"] = f"Lý do dài tối đa {af.MAX_REASON} ký tự (hiện {len(reason)})."
    if not errors:
        try:
            owners_of(request).call(
                "content",
                "POST",
                f"/v1/articles/{article_id}/send-back",
                account=session.account,
                json={"comment": reason},
            )
        except OwnerRefused as refused:
            if refused.status_code != 422:
                return _refused_page(request, refused)
            errors = {"reason": af.say(refused.detail)}
        except OwnerUnavailable as down:
            problem = (
                f"Chưa trả lại được: {down.label} đang không phản hồi. Lý do bạn viết vẫn còn bên dưới; "
                "hãy bấm “Trả lại” sau ít phút."
            )
            status_code = 503
        else:
            return see_other(f"{PREFIX}/articles/{article_id}", message="article_sent_back")
    try:
        article = _article(request, session, article_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    except OwnerUnavailable:
        # Nothing was changed; what they wrote stays, to send again.
        return render(
            request,
            "article_send_back.html",
            status_code=503,
            article_id=article_id,
            reason=reason,
            problem=problem or "Chưa trả lại được: dịch vụ tin bài đang không phản hồi.",
        )
    return _article_page(
        request, session, article, errors=errors, problem=problem, reason=reason, status_code=status_code
    )


# -- revisions


@router.get("/{article_id}/revisions", response_class=HTMLResponse)
def revisions(request: Request, article_id: int = ArticleId, session: CurrentSession = Staff) -> Response:
    try:
        article = _article(request, session, article_id)
        found = owners_of(request).call(
            "content", "GET", f"/v1/articles/{article_id}/revisions", account=session.account
        )
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    me = session.account
    offer = af.offer(article, editor=me.has(Role.EDITOR), approver=me.has(Role.APPROVER), me=me.username)
    items = sorted(found["items"], key=lambda r: -int(r["number"]))
    return render(
        request,
        "article_revisions.html",
        a=article,
        items=items,
        offer=offer,
        categories=af.CATEGORY_LABELS,
        vn_moment=af.vn_moment,
        note=_note,
    )


def _note(raw: str) -> str:
    if raw == "created":
        return "Tạo bài"
    if raw == "edited":
        return "Sửa"
    if raw.startswith("restored from revision "):
        return f"Khôi phục từ phiên bản {raw.rsplit(' ', 1)[1]}"
    return raw


@router.post("/{article_id}/revisions/{number}/restore", response_class=HTMLResponse)
def restore_revision(
    request: Request,
    form: Form,
    article_id: int = ArticleId,
    number: int = RevisionNo,
    session: CurrentSession = EditorOnly,
) -> Response:
    return _transition(request, session, article_id, f"revisions/{number}/restore", "article_restored")
