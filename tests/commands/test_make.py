"""The README's commands, run as a newcomer would: `make token`, and what `make up` prints."""

from __future__ import annotations

import os
import subprocess
import sys

from minhbach_shared.auth import Role, decode_token
from minhbach_shared.settings import DEV_JWT_SECRET
from minhbach_testing.plugin import REPO_ROOT


def run(*argv: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        argv, cwd=REPO_ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_token_prints_a_token_the_services_accept_for_that_role():
    for role in (Role.EDITOR, Role.APPROVER):
        token = run("make", "-s", "token", f"ROLE={role.value}").strip().splitlines()[-1]
        principal = decode_token(DEV_JWT_SECRET, token)
        assert principal.roles == {role}


def test_the_banner_shows_where_everything_is_on_the_ports_in_use():
    shown = run(sys.executable, "scripts/banner.py", env={"NOTIFIER_PORT": "9104", "PROCEDURES_PORT": "9101"})
    assert "http://127.0.0.1:9104/portal/" in shown and "http://127.0.0.1:9104/center/" in shown
    assert "http://127.0.0.1:9101/docs" in shown and "http://127.0.0.1:8002/docs" in shown
    assert "Ctrl-C stops everything" in shown
    lines = [line.split() for line in shown.splitlines()]
    tokens = [words[1] for words in lines if words and words[0] in ("editor", "approver")]
    assert [decode_token(DEV_JWT_SECRET, t).roles for t in tokens] == [{Role.EDITOR}, {Role.APPROVER}]
