"""Sign in, sign out, change one's password."""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from console import accounts
from console.domain import AccountProblem, ThrottlePolicy
from console.web import (
    PRE_SESSION_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    Form,
    Signed,
    console_of,
    pre_session_token,
    render,
    safe_next,
    see_other,
    set_pre_session_cookie,
    set_session_cookie,
)

router = APIRouter(prefix=PREFIX)

# One message for a wrong name and a wrong password: never tell which.
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."
LOCKED = (
    "Đăng nhập sai quá nhiều lần nên tạm thời bị khoá. "
    "Hãy thử lại sau {minutes} phút, hoặc liên hệ quản trị hệ thống."
)


def _sign_in_page(
    request: Request, *, error: str = "", username: str = "", next_path: str = "", status_code: int = 200
) -> HTMLResponse:
    settings = console_of(request).settings
    token = pre_session_token(request)
    response = render(
        request,
        "sign_in.html",
        status_code=status_code,
        error=error,
        username=username,
        next_path=safe_next(next_path),
        signin_token=token,
        reason=request.query_params.get("reason", ""),
    )
    set_pre_session_cookie(response, settings, token)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str = "") -> HTMLResponse:
    return _sign_in_page(request, next_path=next)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    console = console_of(request)
    settings = console.settings
    form = await request.form()
    username = str(form.get("username", ""))[:200]
    password = str(form.get("password", ""))[:1000]
    next_path = str(form.get("next", ""))
    sent = str(form.get("signin_token", ""))
    expected = request.cookies.get(PRE_SESSION_COOKIE, "")
    if not expected or not hmac.compare_digest(sent, expected):
        return _sign_in_page(
            request,
            error="Trang đăng nhập đã hết hạn. Hãy nhập lại tên và mật khẩu.",
            username=username,
            next_path=next_path,
            status_code=403,
        )
    if not username.strip() or not password:
        return _sign_in_page(
            request,
            error="Hãy nhập tên đăng nhập và mật khẩu.",
            username=username,
            next_path=next_path,
            status_code=422,
        )
    throttle = ThrottlePolicy(
        delay_step_s=settings.failure_delay_step_s,
        delay_max_s=settings.failure_delay_max_s,
        account_limit=settings.lock_after_account_failures,
        client_limit=settings.lock_after_client_failures,
        window=timedelta(seconds=settings.lock_window_s),
    )
    client = request.client.host if request.client else "unknown"
    result = await run_in_threadpool(
        accounts.sign_in,
        console.engine,
        username=username,
        password=password,
        client=client,
        now=datetime.now(UTC),
        throttle=throttle,
    )
    if isinstance(result, accounts.Refused):
        # Each wrong password makes the next answer slower (without holding a thread).
        await asyncio.sleep(result.delay_s)
        error = LOCKED.format(minutes=max(1, settings.lock_window_s // 60)) if result.locked else WRONG
        return _sign_in_page(
            request,
            error=error,
            username=username,
            next_path=next_path,
            status_code=429 if result.locked else 401,
        )
    response = see_other(safe_next(next_path))
    set_session_cookie(response, settings, result.cookie)
    response.delete_cookie(PRE_SESSION_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out")
async def sign_out(session: Signed, _: Form, request: Request) -> Response:
    console = console_of(request)
    await run_in_threadpool(accounts.sign_out, console.engine, session.id, now=datetime.now(UTC))
    response = see_other(f"{PREFIX}/sign-in?reason=signed_out")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, session: Signed) -> HTMLResponse:
    return render(
        request, "password.html", errors={}, done=request.query_params.get("msg") == "password_changed"
    )


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(request: Request, session: Signed, form: Form) -> Response:
    console = console_of(request)
    current = str(form.get("current", ""))
    new = str(form.get("password", ""))
    repeat = str(form.get("password_repeat", ""))
    errors: dict[str, str] = {}
    if new != repeat:
        errors["password_repeat"] = "Hai lần nhập mật khẩu mới không khớp."  # noqa: S105 (a message)
    else:
        try:
            await run_in_threadpool(
                accounts.change_password,
                console.engine,
                session.account,
                current=current,
                new=new,
                now=datetime.now(UTC),
                keep_session=session.id,
            )
        except AccountProblem as problem:
            errors[problem.field] = problem.message
    if errors:
        return render(request, "password.html", status_code=422, errors=errors, done=False)
    return see_other(f"{PREFIX}/account/password", message="password_changed")
