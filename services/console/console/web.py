"""What every page shares: templates, the signed-in person, the CSRF check, redirects.

Sessions are server-side (console.accounts): the cookie holds a random value whose
hash names a row; every form carries that session's synchronizer token (`csrf_token`),
checked on every POST. Before sign-in there is no session, so the sign-in form uses a
double-submit token: a random cookie the form must repeat.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from console import accounts
from console.accounts import CurrentSession
from console.domain import ROLE_LABELS, Account, SessionPolicy
from console.owners import OwnerRefused, Owners
from console.settings import Settings
from minhbach_shared.auth import Role
from minhbach_shared.times import in_vietnam, parse_moment

PREFIX = "/console"
SESSION_COOKIE = "mb_console_session"
PRE_SESSION_COOKIE = "mb_console_signin"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# What a redirect's ?msg= may say: keys only, so no one can put words on our pages.
MESSAGES = {
    "password_changed": "Đã đổi mật khẩu.",
    "draft_saved": "Đã lưu bản nháp.",
    "decision_saved": "Đã lưu quyết định (bản nháp).",
    "decision_deleted": "Đã xoá quyết định nháp.",
    "decision_submitted": "Đã trình quyết định để lãnh đạo phê duyệt.",
    "decision_sent_back": "Đã trả lại quyết định cho người soạn, kèm lý do.",
    "decision_published": "Đã ban hành quyết định. Theo dõi việc công khai bên dưới.",
    "article_saved": "Đã lưu bài viết (bản nháp).",
    "article_submitted": "Đã trình bài viết để lãnh đạo duyệt.",
    "article_published": "Đã duyệt và đăng bài viết lên cổng.",
    "article_scheduled": "Đã duyệt bài viết; bài sẽ đăng vào thời điểm đã hẹn.",
    "article_sent_back": "Đã trả lại bài viết cho người viết, kèm lý do.",
    "article_unpublished": "Đã gỡ bài viết khỏi cổng.",
    "article_archived": "Đã chuyển bài viết vào lưu trữ.",
    "article_restored": "Đã khôi phục phiên bản thành bản nháp mới.",
    "document_filed": "Đã nhập văn bản; văn bản được công khai ngay trên các kênh.",
    "document_corrected": "Đã đính chính văn bản; giá trị cũ và mới có trong lịch sử đính chính bên dưới.",
    "ticket_logged": "Đã ghi nhận cuộc gọi thành phản ánh mới.",
    "ticket_accepted": "Đã thụ lý phản ánh.",
    "ticket_assigned": "Đã giao đơn vị xử lý.",
    "ticket_waiting": "Đã chuyển sang chờ người dân bổ sung; thời hạn tạm dừng.",
    "ticket_resumed": "Đã tiếp tục xử lý; thời hạn được lùi thêm số ngày làm việc đã chờ.",
    "ticket_forwarded": "Đã chuyển phản ánh đến cơ quan có thẩm quyền.",
    "ticket_rejected": "Đã ghi nhận không thụ lý, kèm lý do cho người dân.",
    "ticket_duplicate": "Đã đánh dấu trùng với phản ánh gốc.",
    "ticket_closed": "Đã đóng phản ánh.",
    "note_added": "Đã thêm ghi chú nội bộ.",
    "ticket_answered": "Đã lưu câu trả lời. Bản công khai bên cạnh là đúng những gì người dân sẽ thấy.",
    "ticket_approved": "Đã phê duyệt đúng bản công khai này.",
    "ticket_published": "Đã đăng câu trả lời.",
    "ticket_withdrawn": "Đã gỡ câu trả lời khỏi Cổng thông tin và mọi kênh công khai.",
    "unit_added": "Đã thêm đơn vị.",
    "unit_renamed": "Đã đổi tên đơn vị; các phản ánh của đơn vị mang tên mới.",
    "unit_retired": "Đơn vị đã ngừng hoạt động: không giao thêm phản ánh cho đơn vị này.",
    "unit_restored": "Đã khôi phục đơn vị.",
    "delivery_retried": "Đã đặt lại lượt gửi để gửi ngay. Kết quả ở Nhật ký thao tác bên dưới.",
    "channel_retried": "Đã đặt lại các lượt gửi lỗi của kênh để gửi ngay. Số lượt ở Nhật ký thao tác.",
    "channel_resynced": "Đã bắt đầu đồng bộ lại kênh: mọi nội dung được gửi lại. Theo dõi số chờ gửi.",
}


def _vn_datetime(value: object) -> str:
    moment = parse_moment(value)
    return in_vietnam(moment).strftime("%H:%M %d/%m/%Y") if moment else ""


def _vn_date(value: object) -> str:
    if isinstance(value, str) and len(value) == 10:
        year, month, day = value.split("-")
        return f"{day}/{month}/{year}"
    return _vn_datetime(value)[6:] if value else ""


templates.env.globals["MESSAGES"] = MESSAGES
templates.env.filters["vn_datetime"] = _vn_datetime
templates.env.filters["vn_date"] = _vn_date


@dataclass(frozen=True)
class Console:
    """What the routes need, built once in create_app."""

    settings: Settings
    engine: Any
    owners: Owners

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            idle=timedelta(seconds=self.settings.session_idle_s),
            max_age=timedelta(seconds=self.settings.session_max_s),
        )


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def owners_of(request: Request) -> Owners:
    """The owners' APIs, called as the signed-in person (console.owners)."""
    return console_of(request).owners


REFUSAL_TITLES = {403: "Không có quyền", 404: "Không tìm thấy", 409: "Trạng thái đã thay đổi"}


def refused_page(request: Request, refused: OwnerRefused, *, message: str, reopen: str = "") -> HTMLResponse:
    """An owner's refusal as a page that says what happened, never a 500. `message` is the
    refusal in the page's words; a missing role is named as the person's; `reopen` is
    added to a 409 (the state changed under the person)."""
    if message.startswith("requires role: "):
        labels = {r.value: label for r, label in ROLE_LABELS.items()}
        roles = [labels[r] for r in message[15:].split(" or ") if r in labels]
        message = f"Việc này cần vai trò {' hoặc '.join(roles) or message[15:]}; tài khoản của bạn không có."
    if refused.status_code == 409 and reopen:
        message += f" {reopen}"
    return render(
        request,
        "problem.html",
        status_code=refused.status_code,
        title=REFUSAL_TITLES.get(refused.status_code, "Chưa làm được"),
        message=message,
    )


class SignInRequired(Exception):
    """No live session: the handler sends the person to the sign-in page (and back)."""

    def __init__(self, next_path: str, reason: str = "") -> None:
        self.next_path = next_path
        self.reason = reason


class Forbidden(Exception):
    """Signed in, but this page or action is not for this person's roles."""


class CsrfRejected(Exception):
    """A POST without this session's token: forged, or a form left open too long."""


async def current_session(request: Request) -> CurrentSession:
    console = console_of(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    found = await run_in_threadpool(
        accounts.session_for, console.engine, cookie, now=datetime.now(UTC), policy=console.session_policy
    )
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target, reason="expired" if cookie else "")
    request.state.session = found
    return found


Signed = Annotated[CurrentSession, Depends(current_session)]


def requires(*roles: Role) -> Any:
    async def dependency(session: Signed) -> CurrentSession:
        if not session.account.has(*roles):
            raise Forbidden()
        return session

    return Depends(dependency)


async def checked_form(request: Request, session: Signed) -> FormData:
    """The POSTed form, once its CSRF token matches the session's."""
    form = await request.form()
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf_token):
        raise CsrfRejected()
    return form


Form = Annotated[FormData, Depends(checked_form)]


def nav_for(account: Account) -> list[tuple[str, str]]:
    """The menu: only what this person's roles can use."""
    items = [(f"{PREFIX}/", "Việc cần làm")]
    if account.has(Role.EDITOR, Role.APPROVER):
        items.append((f"{PREFIX}/procedures", "Thủ tục hành chính"))
        items.append((f"{PREFIX}/decisions", "Quyết định công bố"))
    if account.has(Role.APPROVER):
        items.append((f"{PREFIX}/inbox", "Chờ phê duyệt"))
    if account.has(Role.EDITOR, Role.APPROVER):
        items.append((f"{PREFIX}/articles", "Tin bài"))
        items.append((f"{PREFIX}/documents", "Văn bản"))
    if account.has(Role.HOTLINE, Role.APPROVER):
        items.append((f"{PREFIX}/hotline", "Đường dây nóng"))
    if account.has(Role.ADMIN):
        items.append((f"{PREFIX}/units", "Đơn vị"))
    if account.has(Role.OPERATOR):
        items.append((f"{PREFIX}/operations", "Vận hành"))
    items.append((f"{PREFIX}/account/password", "Đổi mật khẩu"))
    return items


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    session: CurrentSession | None = None,
    **context: Any,
) -> HTMLResponse:
    session = session or getattr(request.state, "session", None)
    base = {
        "prefix": PREFIX,
        "session": session,
        "account": session.account if session else None,
        "csrf_token": session.csrf_token if session else "",
        "nav": nav_for(session.account) if session else [],
        "current_path": request.url.path,
        "portal_url": console_of(request).settings.portal_url,
    }
    response = templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)
    # Staff pages hold drafts and names: never cached, never framed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'"
    )
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def see_other(path: str, *, message: str | None = None) -> RedirectResponse:
    """Redirect after a POST; `message` is a key of templates' MESSAGES (never free text)."""
    if message:
        path += ("&" if "?" in path else "?") + f"msg={quote(message)}"
    return RedirectResponse(path, status_code=303)


def safe_next(raw: str | None) -> str:
    """Only a path inside the console: never an open redirect to another site."""
    if raw and raw.startswith(f"{PREFIX}/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return f"{PREFIX}/"


def set_session_cookie(response: Response, settings: Settings, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path=PREFIX,
        max_age=settings.session_max_s,
    )


def pre_session_token(request: Request) -> str:
    return request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(32)


def set_pre_session_cookie(response: Response, settings: Settings, value: str) -> None:
    response.set_cookie(
        PRE_SESSION_COOKIE,
        value,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path=PREFIX,
        max_age=3600,
    )
