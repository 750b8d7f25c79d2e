"""A fixed-window rate limit per client in Redis: INCR, and EXPIRE on the window's first hit.

The public writes of every service (the hotline's form, the notifier's subscriptions) use it,
each under its own key prefix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request, status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimiter:
    redis: Any
    limit: int
    window_s: int
    prefix: str

    def hit(self, client: str) -> int | None:
        """Count one request; None if allowed, else the seconds until the window reopens."""
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
            # Redis down: let citizens through rather than turn them all away.
            log.warning("rate limit unavailable (%s); request allowed", type(exc).__name__)
            return None
        if int(count) > self.limit:
            return max(1, int(ttl))
        return None


def refuse_floods(limiter: RateLimiter, request: Request, *, what: str) -> None:
    """Count this request against its client; a full window is a 429 with Retry-After.

    `what` names the requests in the message ("submissions", "subscription requests").
    """
    client = request.client.host if request.client else "unknown"
    retry_after = limiter.hit(client)
    if retry_after is not None:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many {what} from this address; try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )
