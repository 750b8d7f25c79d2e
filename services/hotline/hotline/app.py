"""The composition root: `uvicorn --factory hotline.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis import Redis
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from hotline import routes
from hotline.db import outbox
from hotline.services import Policy
from hotline.settings import Settings
from minhbach_shared.db import make_engine
from minhbach_shared.guard import set_body_limits
from minhbach_shared.http import check_readiness, install_platform
from minhbach_shared.observability import configure_logging
from minhbach_shared.ops import report_outbox
from minhbach_shared.outbox import relay_waker
from minhbach_shared.procedures_api import ProceduresApi
from minhbach_shared.ratelimit import RateLimiter

# The only paths a browser on the portal calls: submitting a ticket and looking one up.
PUBLIC_TICKETS = "/v1/public/tickets"


class PublicTicketsCors:
    """CORS for the public ticket endpoints only; every other path answers as before."""

    def __init__(self, app: ASGIApp, *, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            expose_headers=["Retry-After"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == PUBLIC_TICKETS or path.startswith(PUBLIC_TICKETS + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(service="hotline", level=settings.log_level, json_logs=settings.log_json)
    # Engines and clients connect lazily, on first use.
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    procedures = ProceduresApi(settings.procedures_url, timeout_s=settings.procedures_timeout_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        procedures.close()
        engine.dispose()
        redis.close()

    app = FastAPI(
        title="Minh Bạch hotline",
        version="1.0.0",
        description="Feedback tickets (phản ánh, kiến nghị), their handling and the redacted public answers.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.context = routes.Context(
        settings=settings,
        engine=engine,
        wake=relay_waker(redis, "hotline"),
        policy=Policy.from_settings(settings),
        procedures=procedures,
        rate_limiter=RateLimiter(
            redis,
            limit=settings.public_rate_limit,
            window_s=settings.public_rate_window_s,
            prefix="mb:hotline:ratelimit",
        ),
        lookup_limiter=RateLimiter(
            redis,
            limit=settings.lookup_rate_limit,
            window_s=settings.lookup_rate_window_s,
            prefix="mb:hotline:lookups",
        ),
    )
    install_platform(
        app, service="hotline", readiness=lambda: check_readiness(engine=engine, redis=redis), engine=engine
    )
    report_outbox(app, engine, outbox, owner="hotline")
    set_body_limits(app, settings.max_body_bytes)
    app.include_router(routes.router)
    # Added last, so outermost: a preflight is answered before anything else runs.
    app.add_middleware(PublicTicketsCors, origins=list(settings.cors_origins))
    return app
