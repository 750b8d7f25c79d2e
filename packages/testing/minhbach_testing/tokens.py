"""Access tokens in tests, signed as the console signs them (console.identity).

One Ed25519 key per test process, in a temporary directory: its private half is what
a test console signs with (CONSOLE_SIGNING_KEY_FILE), its public half a JWKS file
the in-process APIs verify with (MB_AUTH_JWKS_FILE, set by the plugin). Nothing here
is a shared secret the APIs would accept from anyone else.
"""

from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from console.identity import SigningKey, all_api_audiences, issue_token, jwks
from minhbach_shared.auth import Role, audience

# The issuer in-process API tests expect (a running console is its own, by URL).
TEST_ISSUER = "http://console.test"


@dataclass(frozen=True)
class SigningFiles:
    key: SigningKey
    private_pem: Path
    jwks_file: Path


@functools.cache
def signing_key() -> SigningFiles:
    folder = Path(tempfile.mkdtemp(prefix="mb-test-key-"))
    pem = folder / "signing-key.pem"
    key = SigningKey.load_or_create(pem)
    jwks_file = folder / "jwks.json"
    jwks_file.write_text(json.dumps(jwks(key)), encoding="utf-8")
    return SigningFiles(key=key, private_pem=pem, jwks_file=jwks_file)


def token(
    *roles: Role,
    subject: str | None = None,
    service: str | None = None,
    issuer: str = TEST_ISSUER,
    ttl: timedelta = timedelta(minutes=15),
    key: SigningKey | None = None,
) -> str:
    """A token for `roles` (by default each role its own person: "test-editor"), for one
    API (`service`) or all four."""
    return issue_token(
        key or signing_key().key,
        issuer=issuer,
        subject=subject or f"test-{roles[0].value}",
        roles=list(roles),
        audiences=[audience(service)] if service else all_api_audiences(),
        ttl=ttl,
    )


def bearer(
    *roles: Role, subject: str | None = None, service: str | None = None, issuer: str = TEST_ISSUER
) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*roles, subject=subject, service=service, issuer=issuer)}"}
