"""The composition root: `uvicorn --factory content.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from redis import Redis
from starlette.types import ASGIApp, Receive, Scope, Send

from content import routes
from content.bootstrap import create_celery
from content.db import outbox
from content.settings import Settings
from content.storage import AttachmentStore, human_size
from minhbach_shared import names
from minhbach_shared.db import make_engine
from minhbach_shared.guard import DEFAULT_MAX_BODY, set_body_limits
from minhbach_shared.http import check_readiness, install_platform
from minhbach_shared.observability import configure_logging
from minhbach_shared.ops import report_outbox
from minhbach_shared.outbox import relay_waker
from minhbach_shared.procedures_api import ProceduresApi


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(service="content", level=settings.log_level, json_logs=settings.log_json)
    # Engines and clients connect lazily, on first use.
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    celery_app = create_celery(settings)
    procedures = ProceduresApi(settings.procedures_url, timeout_s=settings.procedures_timeout_s)

    def schedule_apply(countdown_s: float) -> None:
        celery_app.send_task(names.APPLY_SCHEDULE_TASK, countdown=countdown_s)  # task_routes name its queue

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        procedures.close()
        engine.dispose()
        redis.close()

    app = FastAPI(
        title="Minh Bạch content",
        version="1.0.0",
        description="Administrative-reform articles, directive and legal documents, attachments.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.context = routes.Context(
        engine=engine,
        wake=relay_waker(redis, "content"),
        store=AttachmentStore(settings.attachments_dir, max_bytes=settings.max_attachment_bytes),
        procedures=procedures,
        schedule_apply=schedule_apply,
    )
    install_platform(
        app, service="content", readiness=lambda: check_readiness(engine=engine, redis=redis), engine=engine
    )
    report_outbox(app, engine, outbox, owner="content")
    # An upload streamed without Content-Length is cut off at the store's limit too.
    set_body_limits(app, DEFAULT_MAX_BODY, upload_attachment=settings.max_attachment_bytes + MULTIPART_SLACK)
    app.add_middleware(UploadSizeLimit, path=routes.ATTACHMENTS_PATH, max_bytes=settings.max_attachment_bytes)
    app.include_router(routes.router)
    return app


# Room for the multipart envelope (boundaries, part headers) around the file itself.
MULTIPART_SLACK = 64 * 1024


class UploadSizeLimit:
    """Refuse an upload that says it is too large before reading a byte of it.

    The form is parsed (and spooled to disk) before any route code runs, so the store's
    own limit comes after the whole file was received; a declared Content-Length lets us
    answer at once. A body without one is still cut off by the store.
    """

    def __init__(self, app: ASGIApp, *, path: str, max_bytes: int) -> None:
        self.app = app
        self.path = path
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.path:
            declared = dict(scope["headers"]).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.max_bytes + MULTIPART_SLACK:
                message = f"larger than the limit of {human_size(self.max_bytes)}; upload a smaller file"
                response = JSONResponse(
                    {"detail": f"file: {message}", "errors": [{"field": "file", "message": message}]},
                    status_code=422,
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
