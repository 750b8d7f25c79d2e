"""What every service's FastAPI app has: errors as JSON 4xx, health, metrics, correlation."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from minhbach_shared.db import MAX_ROW_ID
from minhbach_shared.observability import CorrelationMiddleware, DatabaseUp, app_registry, metrics_response

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule said no. Subclasses set the HTTP status; `errors` names the fields."""

    status_code = 400

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Unprocessable(DomainError):
    status_code = 422


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def _error(error: Mapping[str, Any], body: Any) -> dict[str, str]:
    """One validation error as {field, message, type}."""
    if error.get("type") == "json_invalid":
        # FastAPI puts the character offset in the location, ("body", 9): that is no field.
        return {"field": "body", "message": _json_message(error, body), "type": "json_invalid"}
    return {
        "field": _field(error.get("loc", ())),
        "message": error.get("msg", ""),
        "type": error.get("type", ""),
    }


def _json_message(error: Mapping[str, Any], body: Any) -> str:
    """Where the body stops being JSON and why: "JSON decode error at line 1, column 10 (...)"."""
    loc = error.get("loc", ())
    pos = loc[-1] if loc and isinstance(loc[-1], int) else None
    reason = (error.get("ctx") or {}).get("error") or "invalid JSON"
    if pos is None:
        return f"JSON decode error: {reason}"
    where = f"position {pos}"
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        line = body.count("\n", 0, pos) + 1
        column = pos - body.rfind("\n", 0, pos)
        where = f"line {line}, column {column} (position {pos})"
    return f"JSON decode error at {where}: {reason}"


def install_platform(
    app: FastAPI,
    *,
    service: str,
    readiness: Callable[[], dict[str, str]],
    engine: Any = None,
) -> None:
    """Add the correlation middleware, error handlers, /healthz, /readyz and /metrics.
    `service` also names the audience the app's tokens must carry (minhbach_shared.auth).
    /metrics adds, read at each scrape, `mb_database_up` (with `engine`) and whatever the
    app registers on `app.state.metrics` (an owner's outbox, the notifier's channels)."""
    app.state.service = service
    app.state.metrics = app_registry(*([DatabaseUp(service, engine)] if engine is not None else []))
    app.add_middleware(CorrelationMiddleware, service=service)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_error(e, exc.body) for e in exc.errors()]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse(
            status_code=422, content={"detail": f"invalid request: {summary}", "errors": errors}
        )

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code, content={"detail": exc.message, "errors": exc.errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.detail, "errors": []},
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # Two writers raced for the same key (PostgreSQL lets both get this far):
        # the loser gets a 409, never a 500, and its transaction was rolled back.
        log.info("write conflict", exc_info=True)
        return JSONResponse(
            status_code=409,
            content={"detail": "conflicts with a concurrent change; reload and try again", "errors": []},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(status_code=500, content={"detail": "internal error", "errors": []})

    @app.get("/healthz", tags=["platform"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["platform"])
    def readyz() -> JSONResponse:
        checks = readiness()
        ok = all(v == "ok" for v in checks.values())
        body = {"status": "ok" if ok else "unavailable", **checks}
        return JSONResponse(status_code=200 if ok else 503, content=body)

    app.add_route("/metrics", metrics_response, include_in_schema=False)


def _read_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


# A read-only session for one request, on the engine the app keeps in `app.state.engine`.
ReadSession = Annotated[Session, Depends(_read_session)]

# A row id in a path (/v1/tickets/{ticket_id}): a positive integer every database here
# can hold, so an absurd one is a 422 naming it, not an overflow in the driver (a 500).
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
# Every list endpoint pages the same way: ?page= from 1, ?size= up to 100.
PageQuery = Annotated[int, Query(ge=1, le=100_000)]
SizeQuery = Annotated[int, Query(ge=1, le=100)]


def check_readiness(*, engine: Any, redis: Any) -> dict[str, str]:
    from sqlalchemy import text

    result: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        result["database"] = "ok"
    except Exception as exc:
        result["database"] = f"error: {type(exc).__name__}"
    try:
        redis.ping()
        result["redis"] = "ok"
    except Exception as exc:
        result["redis"] = f"error: {type(exc).__name__}"
    return result
