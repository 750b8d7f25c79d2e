"""Writes refused before their body is read: too large (as declared, or while it streams,
chunked included), or not authorised (no token, a bad one, or one without the roles the
route asks for).

FastAPI reads and parses a request's body before it resolves the route's dependencies,
so `require_roles` alone answers 401 only after an anonymous upload was received (and
spooled to disk), and a size check on Content-Length alone lets a chunked body through.
Every service's routers use GuardedRoute: both checks run first, and the dependencies
still run after (and give the route its Principal).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Message, Receive

from minhbach_shared.auth import Role, authorize

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A JSON write of ours is a few kilobytes; a decision of a thousand changes ~100 KB.
DEFAULT_MAX_BODY = 1024 * 1024


def set_body_limits(app: FastAPI, default: int, **per_route: int) -> None:
    """The largest body a write may send: `default`, or per route (by its function's name)."""
    app.state.body_limits = {"": default, **per_route}


def _limit(request: Request, route: str) -> int:
    limits: dict[str, int] = getattr(request.app.state, "body_limits", {})
    return limits.get(route) or limits.get("") or DEFAULT_MAX_BODY


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_413_CONTENT_TOO_LARGE,
        detail=f"request body larger than {limit} bytes",
        headers={"Connection": "close"},
    )


def _required_roles(dependant: Dependant) -> Iterator[frozenset[Role]]:
    """Every require_roles(...) among the route's dependencies (each must be met)."""
    for sub in dependant.dependencies:
        roles = getattr(sub.call, "required_roles", None)
        if roles:
            yield roles
        yield from _required_roles(sub)


def _counted(receive: Receive, limit: int) -> Receive:
    """`receive`, refusing (413) once more than `limit` bytes of body have come in."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _too_large(limit)
        return message

    return counted


class GuardedRoute(APIRoute):
    """A route whose writes are checked for size and roles before their body is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        role_sets = list(dict.fromkeys(_required_roles(self.dependant)))
        name = self.name

        async def guarded(request: Request) -> Response:
            if request.method not in WRITES:
                return await handler(request)
            limit = _limit(request, name)
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(limit)
            for roles in role_sets:
                # In a thread: the first check of a new key may fetch the issuer's keys.
                await run_in_threadpool(authorize, request, roles)
            return await handler(Request(request.scope, _counted(request.receive, limit)))

        return guarded
