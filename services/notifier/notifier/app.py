"""The notifier API: `uvicorn --factory notifier.app:create_app --port 8004`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis as redis_lib
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from minhbach_shared.http import check_readiness, install_platform
from minhbach_shared.observability import configure_logging
from notifier.bootstrap import build_notifier, make_notifier_celery, queues
from notifier.owners import OwnerRegistry
from notifier.routes import router
from notifier.settings import Settings


def create_app(settings: Settings | None = None, *, owners: OwnerRegistry | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(service="notifier", level=settings.log_level, json_logs=settings.log_json)
    redis = redis_lib.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
    celery = make_notifier_celery(settings)
    notifier = build_notifier(settings, celery=celery, owners=owners, redis=redis)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        notifier.owners.close()
        notifier.engine.dispose()
        redis.close()

    app = FastAPI(
        title="Minh Bạch notifier",
        description="The disclosure ledger: what each channel shows, at which version, since when.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.notifier = notifier
    app.state.queues = queues()
    install_platform(
        app, service="notifier", readiness=lambda: check_readiness(engine=notifier.engine, redis=redis)
    )
    app.include_router(router)
    settings.portal_dir.mkdir(parents=True, exist_ok=True)
    app.mount("/portal", StaticFiles(directory=settings.portal_dir, html=True), name="portal")
    return app
