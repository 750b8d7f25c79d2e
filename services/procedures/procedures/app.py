"""The composition root: `uvicorn --factory procedures.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis import Redis

from minhbach_shared import names
from minhbach_shared.db import make_engine
from minhbach_shared.http import check_readiness, install_platform
from minhbach_shared.observability import configure_logging
from minhbach_shared.ops import report_outbox
from minhbach_shared.outbox import relay_waker
from procedures import routes
from procedures.bootstrap import create_celery
from procedures.db import outbox
from procedures.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(service="procedures", level=settings.log_level, json_logs=settings.log_json)
    # Engines and clients connect lazily, on first use.
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    celery_app = create_celery(settings)

    def schedule_apply(countdown_s: float) -> None:
        celery_app.send_task(names.APPLY_DUE_TASK, countdown=countdown_s)  # task_routes name its queue

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()
        redis.close()

    app = FastAPI(
        title="Minh Bạch procedures",
        version="1.0.0",
        description="Administrative procedures, their versions and publication decisions.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.context = routes.Context(
        engine=engine, wake=relay_waker(redis, "procedures"), schedule_apply=schedule_apply
    )
    install_platform(
        app,
        service="procedures",
        readiness=lambda: check_readiness(engine=engine, redis=redis),
        engine=engine,
    )
    report_outbox(app, engine, outbox, owner="procedures")
    app.include_router(routes.router)
    return app
