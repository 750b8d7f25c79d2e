"""The procedures service, as the hotline asks it: does this procedure code exist?"""

from __future__ import annotations

import httpx

from minhbach_shared.observability import http_client


class ProceduresUnreachable(Exception):
    """The register did not give an answer (down, timed out, or a 5xx)."""


class ProceduresApi:
    def __init__(self, base_url: str, *, timeout_s: float = 3.0) -> None:
        self._client = http_client(base_url, timeout_s=timeout_s, retries=1)

    def procedure_exists(self, code: str) -> bool:
        try:
            response = self._client.get(f"/v1/procedures/{code}")
        except httpx.HTTPError as exc:
            raise ProceduresUnreachable(type(exc).__name__) from exc
        if response.status_code == 200:
            return True
        if response.status_code in (404, 422):
            return False
        raise ProceduresUnreachable(f"HTTP {response.status_code}")

    def close(self) -> None:
        self._client.close()
