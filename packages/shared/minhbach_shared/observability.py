"""Correlation ids, JSON logs and Prometheus metrics, the same in every service.

A correlation id enters with an HTTP request (X-Correlation-ID, else a new one),
is written into every event the request causes, travels in Celery task headers,
and leaves on every outgoing httpx call.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pythonjsonlogger.json import JsonFormatter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORRELATION_HEADER = "X-Correlation-ID"
correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
access_log = logging.getLogger("minhbach.access")

HTTP_REQUESTS = Counter(
    "mb_http_requests_total", "HTTP requests served", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram("mb_http_request_seconds", "HTTP request latency", ["service", "method", "route"])


def new_correlation_id() -> str:
    return uuid.uuid4().hex


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


def configure_logging(*, service: str, level: str = "INFO", json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_CorrelationFilter())
    if json_logs:
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}{correlation_id}",
                style="{",
                rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
                static_fields={"service": service},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)


class CorrelationMiddleware:
    """Pure ASGI middleware: sets the correlation id and records request metrics."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(CORRELATION_HEADER.lower().encode())
        cid = incoming.decode("latin-1")[:100] if incoming else new_correlation_id()
        token = correlation_id.set(cid)
        started = time.perf_counter()
        status = 500

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (CORRELATION_HEADER.lower().encode(), cid.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], path).observe(elapsed)
            # Our access log: one JSON line per request, with its correlation id.
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={"status": status, "duration_ms": round(elapsed * 1000, 1)},
            )
            correlation_id.reset(token)


def metrics_response(request: Request) -> Response:
    """The process's metrics, then the app's own (read from its database and Redis now)."""
    body = generate_latest()
    registry = getattr(request.app.state, "metrics", None)
    if registry is not None:
        body += generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def app_registry(*collectors: Collector) -> CollectorRegistry:
    """A registry of collectors read at each scrape, one per app (the process's global one
    holds the request counters): two apps in one process (tests) never collide."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    return registry


class DatabaseUp(Collector):
    """`mb_database_up{service}`: 1 when the service's database answers SELECT 1 now."""

    def __init__(self, service: str, engine: Any) -> None:
        self.service = service
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import text

        up = GaugeMetricFamily("mb_database_up", "1 when the database answers", labels=["service"])
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            up.add_metric([self.service], 1)
        except Exception:
            logging.getLogger(__name__).warning("database unreachable for /metrics", exc_info=True)
            up.add_metric([self.service], 0)
        yield up


def _add_correlation_header(request: httpx.Request) -> None:
    if (cid := correlation_id.get()) and CORRELATION_HEADER not in request.headers:
        request.headers[CORRELATION_HEADER] = cid


def http_client(base_url: str, *, timeout_s: float = 5.0, retries: int = 3, **kwargs: Any) -> httpx.Client:
    """An httpx client with timeouts, connection retries and the correlation header."""
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)),
        transport=httpx.HTTPTransport(retries=retries),
        event_hooks={"request": [_add_correlation_header]},
        **kwargs,
    )


# Our own header: Celery's `correlation_id` is the message's, and is the task id.
CELERY_HEADER = "mb_correlation_id"


def install_celery_correlation(app: Any) -> None:
    """Carry the correlation id in task headers and restore it in the worker."""
    from celery import signals

    @signals.before_task_publish.connect(weak=False)  # type: ignore[untyped-decorator]
    def _publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
        if headers is not None and (cid := correlation_id.get()):
            headers.setdefault(CELERY_HEADER, cid)

    @signals.task_prerun.connect(weak=False)  # type: ignore[untyped-decorator]
    def _prerun(task: Any = None, **_: Any) -> None:
        cid = getattr(task.request, CELERY_HEADER, None) if task else None
        correlation_id.set(cid or new_correlation_id())
