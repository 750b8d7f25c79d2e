"""The owners' APIs, called as the signed-in person: every request carries a token the
console signs for that person and that service only (its audience), and the request's
correlation id. The console keeps no copy of what it reads here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from console.domain import Account
from console.identity import SigningKey, issue_token
from minhbach_shared.auth import audience
from minhbach_shared.observability import http_client

# What each owner is called when it cannot be reached.
OWNER_LABELS = {
    "procedures": "dịch vụ thủ tục hành chính",
    "content": "dịch vụ tin bài và văn bản",
    "hotline": "dịch vụ đường dây nóng",
    "notifier": "dịch vụ công khai (kênh thông tin)",
}


class OwnerUnavailable(Exception):
    """The owner did not answer (down, or too slow): nothing was changed by us."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} unavailable")
        self.service = service
        self.label = OWNER_LABELS.get(service, service)


@dataclass
class OwnerRefused(Exception):
    """The owner said no (4xx): `errors` name the fields, as its 422s do."""

    status_code: int
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def field_errors(self) -> dict[str, str]:
        """The first message per field: {"components.fee": "..."}."""
        out: dict[str, str] = {}
        for e in self.errors:
            out.setdefault(str(e.get("field", "")), str(e.get("message", "")))
        return out


class Owners:
    def __init__(self, *, urls: dict[str, str], key: SigningKey, issuer: str, token_ttl: timedelta) -> None:
        self._clients = {name: http_client(url, timeout_s=10.0, retries=1) for name, url in urls.items()}
        self._key = key
        self._issuer = issuer
        self._ttl = token_ttl

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def token_for(self, account: Account, service: str) -> str:
        return issue_token(
            self._key,
            issuer=self._issuer,
            subject=account.username,
            roles=account.roles,
            audiences=[audience(service)],
            ttl=self._ttl,
        )

    def _send(
        self,
        service: str,
        method: str,
        path: str,
        *,
        account: Account | None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        files: Any = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token_for(account, service)}"} if account else {}
        try:
            answer = self._clients[service].request(
                method, path, json=json, params=params, files=files, headers=headers
            )
        except httpx.TransportError:
            raise OwnerUnavailable(service) from None
        if answer.status_code >= 500:
            raise OwnerUnavailable(service)
        if answer.status_code >= 400:
            try:
                body = answer.json()
            except ValueError:
                body = {}
            detail = body.get("detail") if isinstance(body, dict) else None
            errors = body.get("errors") if isinstance(body, dict) else None
            raise OwnerRefused(
                status_code=answer.status_code,
                detail=detail if isinstance(detail, str) else answer.reason_phrase,
                errors=errors if isinstance(errors, list) else [],
            )
        return answer

    def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        account: Account | None,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """The owner's JSON answer; OwnerRefused on a 4xx, OwnerUnavailable when it is down
        or answers 5xx. `account` None: as the public (no token)."""
        answer = self._send(service, method, path, account=account, json=json, params=params)
        if answer.status_code == 204 or not answer.content:
            return None
        return answer.json()

    def call_text(
        self, service: str, method: str, path: str, *, account: Account | None, json: Any = None
    ) -> str:
        """As `call`, for an answer that is a page (text/html), not JSON."""
        return self._send(service, method, path, account=account, json=json).text

    def upload(
        self, service: str, path: str, *, account: Account, field: str, filename: str, content: bytes
    ) -> Any:
        """A file POSTed as multipart (`field`), as the signed-in person; the owner's JSON
        answer. The owner reads the type from the bytes, so none is claimed here."""
        answer = self._send(
            service,
            "POST",
            path,
            account=account,
            files={field: (filename, content, "application/octet-stream")},
        )
        return answer.json()
