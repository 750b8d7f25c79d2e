"""The README's commands, run as a newcomer would: `make token`, and what `make up` prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jwt
import pytest

from console.domain import DEMO_ACCOUNTS, DEMO_PASSWORD
from console.identity import SigningKey, jwks
from minhbach_shared.auth import JwksFile, Role, TokenVerifier
from minhbach_shared.settings import LOCAL_ISSUER
from minhbach_testing.plugin import REPO_ROOT


def run(*argv: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        argv, cwd=REPO_ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_token_prints_a_short_lived_token_every_api_accepts_for_that_role(tmp_path):
    key_file = tmp_path / "console-signing-key.pem"
    env = {"CONSOLE_SIGNING_KEY_FILE": str(key_file), "MB_AUTH_ISSUER": LOCAL_ISSUER}
    published = tmp_path / "jwks.json"
    for role in (Role.EDITOR, Role.APPROVER):
        token = run("make", "-s", "token", f"ROLE={role.value}", env=env).strip().splitlines()[-1]
        published.write_text(json.dumps(jwks(SigningKey.from_pem(key_file.read_bytes()))))
        for service in ("procedures", "content", "hotline", "notifier"):
            check = TokenVerifier(JwksFile(published), issuer=LOCAL_ISSUER, audience=f"minhbach-{service}")
            assert check.verify(token).roles == {role}
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] <= 15 * 60
        # A key made elsewhere (another console, an attacker's) does not verify it.
        other = SigningKey.load_or_create(tmp_path / "other.pem")
        published.write_text(json.dumps(jwks(other)))
        with pytest.raises(jwt.InvalidTokenError):
            TokenVerifier(JwksFile(published), issuer=LOCAL_ISSUER, audience="minhbach-procedures").verify(
                token
            )


def test_the_banner_shows_where_everything_is_and_the_demo_accounts():
    shown = run(
        sys.executable,
        "scripts/banner.py",
        env={"NOTIFIER_PORT": "9104", "PROCEDURES_PORT": "9101", "CONSOLE_PORT": "9105"},
    )
    assert "http://127.0.0.1:9104/portal/" in shown and "http://127.0.0.1:9104/center/" in shown
    assert "http://127.0.0.1:9101/docs" in shown and "http://127.0.0.1:8002/docs" in shown
    assert "http://127.0.0.1:9105/console/" in shown
    assert "Ctrl-C stops everything" in shown
    rows = [line.split() for line in shown.splitlines()]
    listed = {words[0]: words[2] for words in rows if len(words) == 3 and words[1] == DEMO_PASSWORD}
    assert listed == {username: ",".join(r.value for r in roles) for username, _, roles in DEMO_ACCOUNTS}
