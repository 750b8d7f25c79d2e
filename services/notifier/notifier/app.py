"""The notifier API: `uvicorn --factory notifier.app:create_app --port 8004`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis as redis_lib
import redis.asyncio as async_redis_lib
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from minhbach_shared.http import check_readiness, install_platform
from minhbach_shared.observability import configure_logging
from minhbach_shared.ratelimit import RateLimiter
from notifier.bootstrap import build_parts, make_notifier_celery, watched_queues
from notifier.channels.center import BoardWatch
from notifier.operations.metrics import NotifierCollector
from notifier.owners import OwnerRegistry
from notifier.routes import center, public, router
from notifier.search import routes as search
from notifier.search.index import SearchIndexReader
from notifier.settings import Settings


def create_app(settings: Settings | None = None, *, owners: OwnerRegistry | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(service="notifier", level=settings.log_level, json_logs=settings.log_json)
    redis = redis_lib.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
    celery = make_notifier_celery(settings)
    parts = build_parts(settings, celery=celery, owners=owners, redis=redis)
    # The kiosks' streams share one reader of the board's stream (BoardWatch): the pool is
    # bounded (an error past it, never a new connection per kiosk).
    async_redis = async_redis_lib.Redis.from_url(
        settings.redis_url, socket_connect_timeout=2, max_connections=4
    )
    board = BoardWatch(async_redis, settings.center_dir, max_streams=settings.max_streams)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        parts.owners.close()
        parts.engine.dispose()
        redis.close()
        await board.close()
        await async_redis.aclose()

    app = FastAPI(
        title="Minh Bạch notifier",
        description="The disclosure ledger: what each channel shows, at which version, since when.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.parts = parts
    app.state.queues = watched_queues()
    app.state.async_redis = async_redis
    app.state.board = board
    app.state.subscribe_limiter = RateLimiter(
        redis,
        limit=settings.subscribe_rate_limit,
        window_s=settings.subscribe_rate_window_s,
        prefix="mb:notifier:subscribe",
    )
    install_platform(
        app,
        service="notifier",
        readiness=lambda: check_readiness(engine=parts.engine, redis=redis),
        engine=parts.engine,
    )
    app.state.metrics.register(NotifierCollector(parts, redis, app.state.queues))
    app.include_router(router)
    app.include_router(public)
    app.include_router(center)  # /center/stream, before the /center static mount
    # The public search beside the pages this process serves locally (make up); compose
    # sends the public's searches to the search service instead (notifier.search.app).
    search.install_search(app, SearchIndexReader(settings.portal_dir))  # before the /portal mount
    settings.portal_dir.mkdir(parents=True, exist_ok=True)
    settings.center_dir.mkdir(parents=True, exist_ok=True)
    app.mount("/portal", StaticFiles(directory=settings.portal_dir, html=True), name="portal")
    app.mount("/center", StaticFiles(directory=settings.center_dir, html=True), name="center")
    return app
