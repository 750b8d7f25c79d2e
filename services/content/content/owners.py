"""The procedures API, asked whether linked procedure codes exist."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import quote

import httpx

from content import errors

ProcedureCheck = Callable[[Sequence[str], str], None]


class ProceduresClient:
    """Checks codes against `GET {base}/v1/procedures/{code}`; refuses rather than guesses."""

    def __init__(self, base_url: str, *, timeout_s: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def check_codes(self, codes: Sequence[str], field: str) -> None:
        """Raise UnknownProcedures (422) or ProceduresUnavailable (503); return if all exist."""
        if not codes:
            return
        unknown: list[tuple[int, str]] = []
        try:
            with httpx.Client(base_url=self.base_url, timeout=self.timeout_s) as client:
                for i, code in enumerate(codes):
                    response = client.get(f"/v1/procedures/{quote(code, safe='')}")
                    if response.status_code == 404:
                        unknown.append((i, code))
                    elif response.status_code != 200:
                        raise errors.ProceduresUnavailable(f"HTTP {response.status_code} for {code}")
        except httpx.HTTPError as exc:
            raise errors.ProceduresUnavailable(type(exc).__name__) from None
        if unknown:
            raise errors.UnknownProcedures(field, unknown)
