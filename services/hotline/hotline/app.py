"""The composition root: `uvicorn --factory hotline.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis import Redis

from hotline import routes
from hotline.procedures_api import ProceduresApi
from hotline.ratelimit import RateLimiter
from hotline.services import Policy
from hotline.settings import Settings
from minhbach_shared.db import make_engine
from minhbach_shared.http import check_readiness, install_platform
from minhbach_shared.observability import configure_logging


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
    app.state.context = routes.Context(
        settings=settings,
        engine=engine,
        redis=redis,
        policy=Policy.from_settings(settings),
        procedures=procedures,
        rate_limiter=RateLimiter(
            redis, limit=settings.public_rate_limit, window_s=settings.public_rate_window_s
        ),
    )
    install_platform(app, service="hotline", readiness=lambda: check_readiness(engine=engine, redis=redis))
    app.include_router(routes.router)
    return app
