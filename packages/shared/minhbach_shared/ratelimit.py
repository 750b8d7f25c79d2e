"""A fixed-window rate limit per client in Redis: INCR, and EXPIRE on the window's first hit.

The public writes of every service (the hotline's form, the notifier's subscriptions) and
the hotline's tracking-code lookup use it, each under its own key prefix. When Redis cannot
be asked the request is refused (503 with Retry-After), never let through: a limit that
lapses whenever Redis is away would be one an attacker can switch off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request, status

log = logging.getLogger(__name__)


UNAVAILABLE_RETRY_S = 30


class LimitUnavailable(Exception):
    """The counter could not be read or written (Redis unreachable)."""


@dataclass(frozen=True)
class RateLimiter:
    redis: Any
    limit: int
    window_s: int
    prefix: str

    def hit(self, client: str) -> int | None:
        """Count one request; None if allowed, else the seconds until the window reopens.
        LimitUnavailable when Redis cannot count it."""
        key = f"{self.prefix}:{client}"
        try:
            pipe = self.redis.pipeline()
            pipe.incr(key)
            pipe.ttl(key)
            count, ttl = pipe.execute()
            if ttl < 0:
                # First hit of the window, or a key whose EXPIRE was lost: (re)start the window.
                self.redis.expire(key, self.window_s)
                ttl = self.window_s
        except Exception as exc:
            log.warning("rate limit unavailable (%s); request refused", type(exc).__name__)
            raise LimitUnavailable(type(exc).__name__) from exc
        if int(count) > self.limit:
            return max(1, int(ttl))
        return None


def refuse_floods(limiter: RateLimiter, request: Request, *, what: str) -> None:
    """Count this request against its client; a full window is a 429 with Retry-After.

    `what` names the requests in the message ("submissions", "subscription requests").
    """
    client = request.client.host if request.client else "unknown"
    try:
        retry_after = limiter.hit(client)
    except LimitUnavailable:
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"{what} cannot be counted right now; try again in {UNAVAILABLE_RETRY_S} seconds",
            headers={"Retry-After": str(UNAVAILABLE_RETRY_S)},
        ) from None
    if retry_after is not None:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many {what} from this address; try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )
