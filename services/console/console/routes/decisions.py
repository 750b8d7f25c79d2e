"""Publication decisions: the list by status, composing one (with the procedure search),
the summary before submitting, the approver's inbox (publish, send back), and the
disclosure tracker once published. Every read and write is the procedures API's (and the
notifier's, for the tracker), called as the signed-in person: the four-eyes rule and the
states are the API's; the pages only offer what the role and the state allow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from console import decision_form as df
from console import procedure_form as pf
from console.accounts import CurrentSession
from console.owners import OwnerRefused, OwnerUnavailable
from console.web import PREFIX, Form, console_of, owners_of, refused_page, render, requires, see_other
from minhbach_shared.auth import Role

router = APIRouter(prefix=PREFIX)

Staff = requires(Role.EDITOR, Role.APPROVER)
EditorOnly = requires(Role.EDITOR)
ApproverOnly = requires(Role.APPROVER)
DecisionId = Path(ge=1, le=2**53)
LIST_SIZE = 50  # one status's page
SECTION_SIZE = 20  # each status's first rows when every status is shown
INBOX_SIZE = 50
SEARCH_SIZE = 10
TRACK_SIZE = 50  # procedures per page of the tracker
PUBLISHED = ("scheduled", "in_effect", "failed")
MAX_REASON = 2000


def _decision(request: Request, session: CurrentSession, decision_id: int) -> dict[str, Any]:
    found: dict[str, Any] = owners_of(request).call(
        "procedures", "GET", f"/v1/decisions/{decision_id}", account=session.account
    )
    return found


def _mine(decision: dict[str, Any], session: CurrentSession) -> bool:
    """Four eyes (the API's rule): whoever created or last edited it may not approve it."""
    me = session.account.username
    return me in (decision.get("created_by"), decision.get("edited_by"))


def _refused_page(request: Request, refused: OwnerRefused) -> HTMLResponse:
    return refused_page(
        request,
        refused,
        message=df.say(refused.detail),
        reopen="Hãy mở lại trang quyết định để xem trạng thái hiện tại.",
    )


def _state_page(request: Request, decision: dict[str, Any], what: str) -> HTMLResponse:
    status = df.STATUS_LABELS.get(decision["status"], decision["status"])
    return render(
        request,
        "problem.html",
        status_code=409,
        title="Trạng thái không cho phép",
        message=f"Quyết định {decision['number']} đang ở trạng thái “{status}”: {what}",
    )


# -- the list


@router.get("/decisions", response_class=HTMLResponse)
def list_decisions(
    request: Request, session: CurrentSession = Staff, status: str = "", page: int = 1
) -> HTMLResponse:
    owners = owners_of(request)
    one = status if status in df.STATUS_LABELS else ""
    sections = []
    for value in [one] if one else list(df.STATUS_LABELS):
        size = LIST_SIZE if one else SECTION_SIZE
        params = {"status": value, "size": size, "page": max(page, 1) if one else 1}
        found = owners.call("procedures", "GET", "/v1/decisions", account=session.account, params=params)
        sections.append(
            {
                "status": value,
                "label": df.STATUS_LABELS[value],
                "items": found["items"],
                "total": found["total"],
                "pages": max(1, -(-found["total"] // size)),
            }
        )
    return render(
        request,
        "decisions.html",
        sections=sections,
        status=one,
        page=max(page, 1),
        statuses=df.STATUS_LABELS,
        actions=df.ACTIONS,
        can_create=session.account.has(Role.EDITOR),
    )


# -- composing


@dataclass
class Found:
    results: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""  # the search could not be made
    more: bool = False  # there were more than SEARCH_SIZE of a kind


def _search(request: Request, session: CurrentSession, q: str, draft: df.DecisionDraft) -> Found:
    """Drafts (to put in force: new) and procedures in force (to amend, replace, abolish),
    the first SEARCH_SIZE of each."""
    q = q.strip()[:200]
    found = Found()
    if not q:
        return found
    try:
        for status, action in (("draft", "new"), ("in_force", "amend")):
            page = owners_of(request).call(
                "procedures",
                "GET",
                "/v1/procedures",
                account=session.account,
                params={"q": q, "status": status, "size": SEARCH_SIZE},
            )
            found.more = found.more or page["total"] > len(page["items"])
            for item in page["items"]:
                found.results.append(
                    {
                        **item,
                        "suggest": action,
                        "status_label": pf.STATUS_LABELS.get(item["status"], item["status"]),
                        "added": item["code"] in draft.codes(),
                    }
                )
    except OwnerUnavailable as down:
        found.problem = f"Chưa tìm được: {down.label} đang không phản hồi. Hãy thử lại sau ít phút."
    except OwnerRefused as refused:
        found.problem = f"Chưa tìm được: {df.say(refused.detail)}"
    return found


def _form_page(
    request: Request,
    session: CurrentSession,
    *,
    decision: dict[str, Any] | None,
    draft: df.DecisionDraft,
    errors: dict[str, str] | None = None,
    problem: str = "",
    q: str = "",
    searched: bool = False,
    added: str = "",
    spare: int = 0,
    status_code: int = 200,
) -> HTMLResponse:
    found = _search(request, session, q, draft) if searched else Found()
    rows = [*draft.rows, *[df.ChangeRow() for _ in range(df.SPARE_ROWS + spare)]]
    return render(
        request,
        "decision_form.html",
        status_code=status_code,
        decision=decision,
        d=draft,
        rows=rows,
        signed_on=df.input_value(draft.signed_on),
        effective_on=df.input_value(draft.effective_on),
        errors=errors or {},
        problem=problem,
        q=q,
        searched=searched and bool(q.strip()),
        results=found.results,
        search_problem=found.problem,
        search_more=found.more,
        search_size=SEARCH_SIZE,
        added=added,
        actions=df.ACTIONS,
        labels=df.FIELD_LABELS,
        dual_role=session.account.has(Role.APPROVER),
    )


def _compose(request: Request, session: CurrentSession, form: Any, *, decision_id: int | None) -> Response:
    """Save the form (create or update a draft), or only show it again: after a search, a
    procedure picked from the results, or a blank row asked for. Nothing is saved until
    "Lưu bản nháp"; on any refusal the form comes back as typed, each error by its field."""
    draft = df.read_form(form)
    q = str(form.get("q", ""))[:200]
    intent = str(form.get("intent", "save"))
    picked = str(form.get("add", ""))
    decision = None
    if decision_id is not None:
        decision = {"id": decision_id, "number": draft.number}
    if picked or intent in ("search", "add_row"):
        added = (df.add_change(draft, picked) or "") if picked else ""
        return _form_page(
            request,
            session,
            decision=decision,
            draft=draft,
            q=q,
            searched=True,
            added=added,
            spare=1 if intent == "add_row" else 0,
        )
    errors = df.check(draft)
    if errors:
        return _form_page(
            request, session, decision=decision, draft=draft, errors=errors, q=q, status_code=422
        )
    owners = owners_of(request)
    try:
        if decision_id is None:
            saved = owners.call(
                "procedures", "POST", "/v1/decisions", account=session.account, json=df.to_api(draft)
            )
        else:
            saved = owners.call(
                "procedures",
                "PATCH",
                f"/v1/decisions/{decision_id}",
                account=session.account,
                json=df.to_api(draft),
            )
    except OwnerRefused as refused:
        errors = df.api_errors(refused.errors) if refused.status_code == 422 else {}
        if not errors:
            errors = {"form": df.say(refused.detail)}
        return _form_page(
            request,
            session,
            decision=decision,
            draft=draft,
            errors=errors,
            q=q,
            status_code=refused.status_code,
        )
    except OwnerUnavailable as down:
        return _form_page(
            request,
            session,
            decision=decision,
            draft=draft,
            q=q,
            problem=f"Chưa lưu được: {down.label} đang không phản hồi. Những gì bạn đã nhập vẫn còn "
            "trên trang này; hãy bấm “Lưu bản nháp” lại sau ít phút.",
            status_code=503,
        )
    return see_other(f"{PREFIX}/decisions/{saved['id']}", message="decision_saved")


@router.get("/decisions/new", response_class=HTMLResponse)
def new_decision(request: Request, session: CurrentSession = EditorOnly, q: str = "") -> HTMLResponse:
    return _form_page(request, session, decision=None, draft=df.DecisionDraft(), q=q[:200], searched=True)


@router.post("/decisions/new", response_class=HTMLResponse)
def create_decision(request: Request, form: Form, session: CurrentSession = EditorOnly) -> Response:
    return _compose(request, session, form, decision_id=None)


@router.get("/decisions/{decision_id}/edit", response_class=HTMLResponse)
def edit_decision(
    request: Request, decision_id: int = DecisionId, session: CurrentSession = EditorOnly, q: str = ""
) -> HTMLResponse:
    try:
        decision = _decision(request, session, decision_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    if decision["status"] != "draft":
        return _state_page(request, decision, "chỉ sửa được quyết định đang soạn.")
    return _form_page(
        request, session, decision=decision, draft=df.from_api(decision), q=q[:200], searched=True
    )


@router.post("/decisions/{decision_id}/edit", response_class=HTMLResponse)
def update_decision(
    request: Request, form: Form, decision_id: int = DecisionId, session: CurrentSession = EditorOnly
) -> Response:
    return _compose(request, session, form, decision_id=decision_id)


# -- one decision, its changes and their differences


@dataclass
class ChangeView:
    index: int
    action: str
    code: str
    name: str
    replaced_by: str = ""
    replaced_by_name: str = ""
    diff: list[pf.ComponentDiff] = field(default_factory=list)
    left_label: str = ""
    right_label: str = ""
    missing: list[str] = field(default_factory=list)
    problem: str = ""
    note: str = ""
    portal_page: str = ""

    @property
    def action_label(self) -> str:
        return df.ACTIONS.get(self.action, self.action)

    @property
    def has_diff(self) -> bool:
        return self.action in ("new", "amend")


def _versions(request: Request, session: CurrentSession, code: str) -> list[dict[str, Any]]:
    """The procedure's published versions, oldest first; none for one never in force (404)."""
    try:
        found = owners_of(request).call(
            "procedures", "GET", f"/v1/procedures/{code}/versions", account=session.account
        )
    except OwnerRefused as refused:
        if refused.status_code == 404:
            return []
        raise
    return list(found["items"])


def _name_of(request: Request, session: CurrentSession, code: str) -> str:
    try:
        draft = owners_of(request).call(
            "procedures", "GET", f"/v1/procedures/{code}/draft", account=session.account
        )
    except OwnerRefused:
        return ""
    return str(draft.get("name") or "")


def _change_views(
    request: Request,
    session: CurrentSession,
    decision: dict[str, Any],
    problems: dict[int, df.ChangeProblem] | None = None,
    *,
    with_diff: bool = True,
) -> list[ChangeView]:
    """Each change: the procedure's name and, for new and amend while the decision is under
    review, its draft against the version in force with the components still missing."""
    owners = owners_of(request)
    portal_url = console_of(request).settings.portal_url
    views = []
    for i, change in enumerate(decision.get("changes") or []):
        code = str(change["procedure_code"])
        view = ChangeView(
            index=i,
            action=str(change["action"]),
            code=code,
            name=str(change.get("procedure_name") or ""),
            replaced_by=str(change.get("replaced_by") or ""),
            portal_page=df.portal_page(portal_url, "procedure", code),
        )
        if with_diff and view.has_diff and decision["status"] in ("draft", "submitted"):
            try:
                draft = owners.call(
                    "procedures", "GET", f"/v1/procedures/{code}/draft", account=session.account
                )
                versions = _versions(request, session, code)
            except OwnerRefused as refused:
                view.problem = df.say(refused.detail)
            else:
                in_force = versions[-1] if versions else None
                after = {name: draft.get(name) for name in pf.LABELS if name != "code"}
                diff = pf.diff_contents(in_force["content"] if in_force else {}, after)
                view.diff = diff if view.action == "new" or not in_force else [d for d in diff if d.changed]
                view.left_label = (
                    f"Đang có hiệu lực (phiên bản {in_force['version']})" if in_force else "Chưa ban hành"
                )
                view.right_label = "Bản nháp sẽ có hiệu lực"
                view.missing = [pf.LABELS.get(m, m) for m in draft.get("missing") or []]
                view.name = view.name or str(draft.get("name") or "")
                if view.action == "amend" and not view.diff:
                    view.note = "Bản nháp chưa khác bản đang có hiệu lực: chưa có gì để sửa đổi."
        elif view.action == "replace" and view.replaced_by:
            view.replaced_by_name = _name_of(request, session, view.replaced_by)
        if problems and i in problems:
            view.problem = problems[i].message
            view.missing = problems[i].missing or view.missing
        views.append(view)
    return views


def _decision_page(
    request: Request,
    session: CurrentSession,
    decision: dict[str, Any],
    *,
    problems: dict[int, df.ChangeProblem] | None = None,
    errors: dict[str, str] | None = None,
    problem: str = "",
    reason: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    status = decision["status"]
    me = session.account
    portal_url = console_of(request).settings.portal_url
    return render(
        request,
        "decision.html",
        status_code=status_code,
        d=decision,
        status_label=df.STATUS_LABELS.get(status, status),
        views=_change_views(request, session, decision, problems, with_diff=status == "submitted"),
        can_edit=me.has(Role.EDITOR) and status == "draft",
        is_approver=me.has(Role.APPROVER),
        mine=_mine(decision, session),
        effect_note=df.effect_note(str(decision["effective_on"])),
        published=status in PUBLISHED,
        decision_page=df.portal_page(portal_url, "decision", str(decision["id"])),
        errors=errors or {},
        problem=problem,
        reason=reason,
        vn_date=df.vn_date,
    )


@router.get("/decisions/{decision_id}", response_class=HTMLResponse)
def show_decision(
    request: Request, decision_id: int = DecisionId, session: CurrentSession = Staff
) -> Response:
    try:
        decision = _decision(request, session, decision_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    return _decision_page(request, session, decision)


# -- delete (a draft, after a confirmation)


@router.get("/decisions/{decision_id}/delete", response_class=HTMLResponse)
def confirm_delete(
    request: Request, decision_id: int = DecisionId, session: CurrentSession = EditorOnly
) -> Response:
    try:
        decision = _decision(request, session, decision_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    if decision["status"] != "draft":
        return _state_page(request, decision, "chỉ xoá được quyết định đang soạn.")
    return render(request, "decision_delete.html", d=decision, actions=df.ACTIONS)


@router.post("/decisions/{decision_id}/delete", response_class=HTMLResponse)
def delete_decision(
    request: Request, form: Form, decision_id: int = DecisionId, session: CurrentSession = EditorOnly
) -> Response:
    try:
        owners_of(request).call(
            "procedures", "DELETE", f"/v1/decisions/{decision_id}", account=session.account
        )
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    return see_other(f"{PREFIX}/decisions", message="decision_deleted")


# -- submit (after a summary of what it will change)


def _submit_page(
    request: Request,
    session: CurrentSession,
    decision: dict[str, Any],
    *,
    problems: dict[int, df.ChangeProblem] | None = None,
    problem: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    views = _change_views(request, session, decision, problems)
    return render(
        request,
        "decision_submit.html",
        status_code=status_code,
        d=decision,
        views=views,
        problem=problem,
        incomplete=[v for v in views if v.missing or v.problem],
        effect_note=df.effect_note(str(decision["effective_on"])),
        vn_date=df.vn_date,
    )


@router.get("/decisions/{decision_id}/submit", response_class=HTMLResponse)
def review_before_submit(
    request: Request, decision_id: int = DecisionId, session: CurrentSession = EditorOnly
) -> Response:
    try:
        decision = _decision(request, session, decision_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    if decision["status"] != "draft":
        return _state_page(request, decision, "chỉ trình được quyết định đang soạn.")
    return _submit_page(request, session, decision)


@router.post("/decisions/{decision_id}/submit", response_class=HTMLResponse)
def submit_decision(
    request: Request, form: Form, decision_id: int = DecisionId, session: CurrentSession = EditorOnly
) -> Response:
    owners = owners_of(request)
    try:
        owners.call("procedures", "POST", f"/v1/decisions/{decision_id}/submit", account=session.account)
    except OwnerRefused as refused:
        if refused.status_code != 422:
            return _refused_page(request, refused)
        decision = _decision(request, session, decision_id)
        return _submit_page(
            request,
            session,
            decision,
            problems=df.change_problems(refused.errors),
            problem=df.say(refused.detail),
            status_code=422,
        )
    return see_other(f"{PREFIX}/decisions/{decision_id}", message="decision_submitted")


# -- the approver's side: the inbox, publish, send back


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, session: CurrentSession = ApproverOnly) -> HTMLResponse:
    found = owners_of(request).call(
        "procedures",
        "GET",
        "/v1/decisions",
        account=session.account,
        params={"status": "submitted", "size": INBOX_SIZE},
    )
    entries = [
        {
            "d": d,
            "mine": _mine(d, session),
            "views": _change_views(request, session, d),
            "effect_note": df.effect_note(str(d["effective_on"])),
        }
        for d in found["items"]
    ]
    # The ones this approver may decide first; their own wait for another leader.
    entries.sort(key=lambda e: e["mine"])
    return render(request, "inbox.html", entries=entries, total=found["total"], vn_date=df.vn_date)


@router.post("/decisions/{decision_id}/publish", response_class=HTMLResponse)
def publish_decision(
    request: Request, form: Form, decision_id: int = DecisionId, session: CurrentSession = ApproverOnly
) -> Response:
    try:
        owners_of(request).call(
            "procedures", "POST", f"/v1/decisions/{decision_id}/publish", account=session.account
        )
    except OwnerRefused as refused:
        if refused.status_code != 422:
            return _refused_page(request, refused)
        # Procedure drafts were edited while it waited: what is missing now, by change.
        return _decision_page(
            request,
            session,
            _decision(request, session, decision_id),
            problems=df.change_problems(refused.errors),
            problem=df.say(refused.detail),
            status_code=422,
        )
    return see_other(f"{PREFIX}/decisions/{decision_id}/tracker", message="decision_published")


@router.post("/decisions/{decision_id}/send-back", response_class=HTMLResponse)
def send_back_decision(
    request: Request, form: Form, decision_id: int = DecisionId, session: CurrentSession = ApproverOnly
) -> Response:
    reason = str(form.get("reason", "")).strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = "Hãy ghi lý do trả lại, để người soạn biết cần sửa gì."
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Lý do dài tối đa {MAX_REASON} ký tự (hiện {len(reason)})."
    if not errors:
        try:
            owners_of(request).call(
                "procedures",
                "POST",
                f"/v1/decisions/{decision_id}/send-back",
                account=session.account,
                json={"reason": reason},
            )
        except OwnerRefused as refused:
            if refused.status_code != 422:
                return _refused_page(request, refused)
            errors = {"reason": df.api_errors(refused.errors).get("reason") or df.say(refused.detail)}
        except OwnerUnavailable as down:
            # Nothing was changed; what they wrote stays, to send again.
            return render(
                request,
                "decision_send_back.html",
                status_code=503,
                decision_id=decision_id,
                reason=reason,
                problem=f"Chưa trả lại được: {down.label} đang không phản hồi. Lý do bạn viết vẫn còn "
                "bên dưới; hãy bấm “Trả lại” sau ít phút.",
            )
        else:
            return see_other(f"{PREFIX}/inbox", message="decision_sent_back")
    try:
        decision = _decision(request, session, decision_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    return _decision_page(request, session, decision, errors=errors, reason=reason, status_code=422)


# -- the disclosure tracker


def _track(request: Request, session: CurrentSession, subject: df.TrackedSubject) -> df.TrackedSubject:
    """The subject's cell on each channel that shows it (the notifier says which)."""
    if subject.note:
        return subject  # nothing changed, or nothing known: no channel to follow
    found = owners_of(request).call(
        "notifier",
        "GET",
        "/v1/deliveries",
        account=session.account,
        params={"subject_kind": subject.kind, "subject_id": subject.id, "size": 200},
    )
    channels = [str(c) for c in found.get("channels") or []]
    if subject.version is None:
        # Published, not in effect yet: the channels show it from effective_on.
        subject.cells = [df.Cell(c, df.CHANNEL_LABELS.get(c, c), "later") for c in channels]
        return subject
    subject.cells = [df.cell_for(c, found["items"], version=subject.version) for c in channels]
    return subject


@router.get("/decisions/{decision_id}/tracker", response_class=HTMLResponse)
def tracker(
    request: Request, decision_id: int = DecisionId, session: CurrentSession = Staff, page: int = 1
) -> Response:
    try:
        decision = _decision(request, session, decision_id)
    except OwnerRefused as refused:
        return _refused_page(request, refused)
    if decision["status"] not in PUBLISHED:
        return _state_page(request, decision, "việc công khai chỉ bắt đầu khi quyết định được ban hành.")
    owners = owners_of(request)
    portal_url = console_of(request).settings.portal_url
    status = decision["status"]
    subjects = [
        _track(
            request,
            session,
            df.TrackedSubject(
                kind="decision",
                id=str(decision_id),
                title=f"Quyết định {decision['number']}",
                action="Trang quyết định",
                version=int(decision["version"]),
                portal_page=df.portal_page(portal_url, "decision", str(decision_id)),
            ),
        )
    ]
    codes = list(dict.fromkeys(str(c["procedure_code"]) for c in decision["changes"]))
    pages = max(1, -(-len(codes) // TRACK_SIZE))
    page = min(max(page, 1), pages)
    by_code = {str(c["procedure_code"]): c for c in decision["changes"]}
    for code in codes[(page - 1) * TRACK_SIZE : page * TRACK_SIZE]:
        change = by_code[code]
        subject = df.TrackedSubject(
            kind="procedure",
            id=code,
            title=str(change.get("procedure_name") or code),
            action=df.ACTIONS.get(str(change["action"]), str(change["action"])),
            version=None,
            portal_page=df.portal_page(portal_url, "procedure", code),
        )
        if status == "failed":
            subject.note = "Quyết định không áp dụng được: thủ tục không thay đổi."
        elif status == "in_effect":
            try:
                versions = owners.call(
                    "procedures", "GET", f"/v1/procedures/{code}/versions", account=session.account
                )
            except OwnerRefused as refused:
                subject.note = df.say(refused.detail)
            else:
                made = [v for v in versions["items"] if (v.get("decision") or {}).get("id") == decision_id]
                if made:
                    subject.version = int(made[-1]["version"])
                else:
                    subject.note = "Không thấy phiên bản do quyết định này tạo ra."
        subjects.append(_track(request, session, subject))
    progress = df.progress(subjects)
    return render(
        request,
        "tracker.html",
        d=decision,
        status_label=df.STATUS_LABELS.get(status, status),
        subjects=subjects,
        columns=list(dict.fromkeys(c.channel for s in subjects for c in s.cells)),
        channel_labels=df.CHANNEL_LABELS,
        progress=progress,
        all_done=progress.all_done and status == "in_effect",
        finished=progress.finished,
        effect_note=df.effect_note(str(decision["effective_on"])),
        page=page,
        pages=pages,
        vn_date=df.vn_date,
    )
