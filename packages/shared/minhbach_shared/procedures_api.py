"""The procedures API as the other owners ask it: is there a procedure with this code?

Part of the contract (`GET /v1/procedures/{code}`): content checks the codes an article
or a document links to, the hotline the code a ticket names, both before they write.
One client, one policy, so both refuse alike:

- 200: it exists; 404 (or 422, a code the API refuses outright): it does not;
- no answer (refused, reset, timed out) or any other status (a 5xx): ProceduresUnreachable,
  and the caller refuses the save (503) rather than guess. A connection that fails is
  tried once more; a timeout or a 5xx is not: someone is waiting, and may send again.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

import httpx

from minhbach_shared.observability import http_client


class ProceduresUnreachable(Exception):
    """The procedures API gave no answer: down, timed out, or a 5xx."""


class ProcedureRegister(Protocol):
    """What a use case asks of the procedures API: ProceduresApi, or a fake in tests."""

    def exists(self, code: str) -> bool: ...


class ProceduresApi:
    """`GET {base}/v1/procedures/{code}` over one pooled client (with the correlation id)."""

    def __init__(self, base_url: str, *, timeout_s: float = 3.0) -> None:
        self._client = http_client(base_url, timeout_s=timeout_s, retries=1)

    def exists(self, code: str) -> bool:
        try:
            response = self._client.get(f"/v1/procedures/{quote(code, safe='')}")
        except httpx.HTTPError as exc:
            raise ProceduresUnreachable(type(exc).__name__) from exc
        if response.status_code == 200:
            return True
        if response.status_code in (404, 422):
            return False
        raise ProceduresUnreachable(f"HTTP {response.status_code} for {code}")

    def close(self) -> None:
        self._client.close()
