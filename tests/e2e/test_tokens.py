"""Black-box, against the running APIs: only tokens the console signed, for that API,
still valid, are accepted; nothing is left that accepts the old shared secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt

from console.identity import SigningKey, issue_token
from minhbach_shared.auth import Role
from minhbach_testing.harness import System
from minhbach_testing.tokens import signing_key

# A write each API guards, with a body it would accept from an editor or operator.
WRITES = {
    "procedures": ("POST", "/v1/procedures", {"code": "TOK.001", "name": "Thủ tục thử token"}),
    "content": ("POST", "/v1/articles", {"category": "news", "title": "Thử", "summary": "x", "body": "x"}),
    "hotline": ("GET", "/v1/tickets", None),
    "notifier": ("POST", "/v1/deliveries/999999/retry", None),  # authorised: 404, no such delivery
}
OLD_DEV_SECRET = "minhbach-local-development-secret-do-not-deploy"  # the removed HS256 secret


def call(system: System, service: str, token: str) -> httpx.Response:
    method, path, body = WRITES[service]
    base = getattr(system, f"{service}_url")
    return httpx.request(
        method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def forged(system: System, tmp_path: Path, service: str) -> dict[str, str]:
    issuer = system.env["MB_AUTH_ISSUER"]
    claims = {"iss": issuer, "sub": "forger", "roles": ["editor", "hotline", "operator", "approver"]}
    stranger = SigningKey.load_or_create(tmp_path / f"{service}-stranger.pem")
    roles = [Role.EDITOR, Role.HOTLINE, Role.OPERATOR]
    return {
        "the old shared secret (HS256)": jwt.encode(
            {**claims, "aud": f"minhbach-{service}", "exp": datetime.now(UTC) + timedelta(minutes=5)},
            OLD_DEV_SECRET,
            algorithm="HS256",
        ),
        "another key": issue_token(
            stranger, issuer=issuer, subject="forger", roles=roles, audiences=[f"minhbach-{service}"]
        ),
        "another API's audience": issue_token(
            signing_key().key, issuer=issuer, subject="x", roles=roles, audiences=["minhbach-elsewhere"]
        ),
        "expired": issue_token(
            signing_key().key,
            issuer=issuer,
            subject="x",
            roles=roles,
            audiences=[f"minhbach-{service}"],
            now=datetime.now(UTC) - timedelta(hours=1),
        ),
        "another issuer": issue_token(
            signing_key().key,
            issuer="https://evil.example",
            subject="x",
            roles=roles,
            audiences=[f"minhbach-{service}"],
        ),
    }


def test_every_api_refuses_every_token_the_console_did_not_sign_for_it(
    system: System, tmp_path: Path
) -> None:
    for service in WRITES:
        for what, token in forged(system, tmp_path, service).items():
            answer = call(system, service, token)
            assert answer.status_code == 401, (service, what, answer.status_code, answer.text)
            assert answer.headers["www-authenticate"] == "Bearer"


def test_the_consoles_token_for_that_api_is_accepted(system: System) -> None:
    for service in WRITES:
        token = issue_token(
            signing_key().key,
            issuer=system.env["MB_AUTH_ISSUER"],
            subject="e2e-token",
            roles=[Role.EDITOR, Role.HOTLINE, Role.OPERATOR],
            audiences=[f"minhbach-{service}"],
        )
        answer = call(system, service, token)
        assert answer.status_code not in (401, 403), (service, answer.status_code, answer.text)
