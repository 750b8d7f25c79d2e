"""The composition root: `uvicorn --factory console.app:create_app`."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from console import accounts
from console.identity import SigningKey
from console.owners import OwnerRefused, Owners, OwnerUnavailable
from console.routes import (
    account,
    articles,
    decisions,
    documents,
    home,
    hotline,
    identity,
    operations,
    procedures,
    units,
)
from console.settings import Settings
from console.web import (
    PREFIX,
    Console,
    CsrfRejected,
    Forbidden,
    SignInRequired,
    refused_page,
    render,
    see_other,
)
from minhbach_shared.db import make_engine
from minhbach_shared.http import install_platform
from minhbach_shared.observability import configure_logging


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(service="console", level=settings.log_level, json_logs=settings.log_json)
    engine = make_engine(settings.database_url)
    if settings.environment == "production" and (demo := accounts.demo_accounts(engine)):
        # Their passwords are printed by `make up` and written in the README.
        raise RuntimeError(f"refusing to start in production with demo accounts: {', '.join(demo)}")
    key = SigningKey.load_or_create(settings.signing_key_file)
    owners = Owners(
        urls={
            "procedures": settings.procedures_url,
            "content": settings.content_url,
            "hotline": settings.hotline_url,
            "notifier": settings.notifier_url,
        },
        key=key,
        issuer=settings.auth_issuer,
        token_ttl=timedelta(seconds=settings.token_ttl_s),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        owners.close()
        engine.dispose()

    app = FastAPI(
        title="Minh Bạch console",
        version="1.0.0",
        description="The Department's back office, and the one issuer of access tokens.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.console = Console(settings=settings, engine=engine, owners=owners)
    app.state.verification_keys = [key]
    install_platform(app, service="console", readiness=lambda: _readiness(engine), engine=engine)
    _install_page_errors(app)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(identity.router)
    app.include_router(account.router)
    app.include_router(home.router)
    app.include_router(procedures.router)
    app.include_router(decisions.router)
    app.include_router(articles.router)
    app.include_router(hotline.router)
    app.include_router(documents.router)
    app.include_router(units.router)
    app.include_router(operations.router)
    return app


def _readiness(engine: object) -> dict[str, str]:
    from sqlalchemy import text

    try:
        with engine.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return {"database": f"error: {type(exc).__name__}"}
    return {"database": "ok"}


def _install_page_errors(app: FastAPI) -> None:
    """Pages answer people, not programs: each refusal is a page that says what to do."""

    @app.exception_handler(SignInRequired)
    async def _sign_in(_: Request, exc: SignInRequired) -> Response:
        from urllib.parse import quote

        reason = "&reason=expired" if exc.reason else ""
        return see_other(f"{PREFIX}/sign-in?next={quote(exc.next_path)}{reason}")

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _: Forbidden) -> HTMLResponse:
        return render(
            request,
            "problem.html",
            status_code=403,
            title="Không có quyền",
            message="Việc này không thuộc vai trò của tài khoản bạn. Nếu cần, hãy liên hệ quản trị hệ thống.",
        )

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _: CsrfRejected) -> HTMLResponse:
        return render(
            request,
            "problem.html",
            status_code=403,
            title="Biểu mẫu không hợp lệ",
            message="Biểu mẫu đã hết hạn hoặc không gửi từ trang của hệ thống. Hãy mở lại trang và làm lại.",
        )

    platform_validation = app.exception_handlers[RequestValidationError]

    @app.exception_handler(RequestValidationError)
    async def _bad_address(request: Request, exc: RequestValidationError) -> Response:
        # A page address with a bad part (/console/decisions/abc): a page, not JSON.
        if not request.url.path.startswith(f"{PREFIX}/"):
            answer = platform_validation(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        return render(
            request,
            "problem.html",
            status_code=404,
            title="Không tìm thấy",
            message="Địa chỉ trang không đúng. Hãy mở lại từ menu.",
        )

    @app.exception_handler(OwnerRefused)
    async def _owner_refused(request: Request, exc: OwnerRefused) -> HTMLResponse:
        # A refusal a page did not handle itself (a form handles its own, beside its fields).
        return refused_page(request, exc, message=f"Hệ thống trả lời: {exc.detail}")

    @app.exception_handler(OwnerUnavailable)
    async def _owner_down(request: Request, exc: OwnerUnavailable) -> HTMLResponse:
        return render(
            request,
            "problem.html",
            status_code=503,
            title="Tạm thời chưa làm được",
            message=f"Không kết nối được {exc.label}. Hãy thử lại sau ít phút.",
        )
