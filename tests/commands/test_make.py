"""The README's commands, run as a newcomer would: `make token`, what `make up` prints, and
the demo data it loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jwt
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from console.domain import DEMO_ACCOUNTS, DEMO_PASSWORD
from console.identity import SigningKey, jwks
from minhbach_shared.auth import JwksFile, Role, TokenVerifier
from minhbach_shared.settings import LOCAL_ISSUER
from minhbach_testing.plugin import REPO_ROOT, free_port


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


def demo_env(var) -> dict[str, str]:
    """`make demo` on databases of its own (and a Redis nobody listens on: nothing to wake)."""
    return {
        "MB_VAR_DIR": str(var),
        "MB_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        **{f"{s.upper()}_DATABASE_URL": f"sqlite:///{var / s}.db" for s in SERVICES},
        "CONTENT_ATTACHMENTS_DIR": str(var / "attachments"),
        "CONSOLE_SIGNING_KEY_FILE": str(var / "console-signing-key.pem"),
    }


SERVICES = ("procedures", "content", "hotline", "notifier", "console")


def published(var) -> dict[str, int]:
    """What a fresh portal will show once the relays run: live articles, published answers,
    and the events waiting in each owner's outbox for the notifier."""
    from content import services as content_services
    from content.db import outbox as content_outbox
    from hotline import services as hotline_services
    from hotline.db import outbox as hotline_outbox

    counts = {}
    for name, table in (("content", content_outbox), ("hotline", hotline_outbox)):
        engine = create_engine(f"sqlite:///{var / name}.db")
        with Session(engine) as session:
            counts[f"{name} events"] = session.execute(select(func.count()).select_from(table)).scalar_one()
            if name == "content":
                page = content_services.list_articles(
                    session, category=None, q=None, tag=None, procedure_code=None, page=1, size=100
                )
                counts["categories"] = len({a.category for a in page.items})
                counts["articles with a picture"] = sum(1 for a in page.items if a.cover_image_url)
                counts["articles"] = page.total
            else:
                answers = hotline_services.public_answers(
                    session, q=None, procedure_code=None, page=1, size=100
                )
                counts["answers"] = answers.total
        engine.dispose()
    return counts


def test_make_demo_fills_a_fresh_portal_once(tmp_path):
    var = tmp_path / "var"
    shown = run("make", "-s", "demo", env=demo_env(var))
    assert "content: loaded 6 demo documents" in shown
    assert "content: published 8 demo articles" in shown
    assert "hotline: published 4 demo answers" in shown
    first = published(var)
    assert first["categories"] == 4 and first["articles"] == first["articles with a picture"] == 8
    assert first["answers"] == 4
    assert first["content events"] >= 6 + 8 and first["hotline events"] >= 4
    # Loaded again: every loader sees its database is not empty; nothing is added or sent.
    again = run("make", "-s", "demo", env=demo_env(var))
    assert (
        "content: articles exist, demo skipped" in again
        and "hotline: database not empty, demo skipped" in again
    )
    assert published(var) == first


def test_make_up_starts_the_procfile_and_more_events_workers_when_asked():
    """`make up` starts the Procfile as it is; `EVENTS_WORKERS=3` adds two events workers
    with node names of their own (services/notifier/tests/integration/test_scale_out.py
    starts them); nonsense is refused with the reason."""
    procfile = (REPO_ROOT / "Procfile").read_text(encoding="utf-8")
    script = [sys.executable, "scripts/procfile_up.py"]
    assert run(*script) == procfile
    three = run(*script, "--events-workers", "3").splitlines()
    added = [line for line in three if line not in procfile.splitlines()]
    assert [line.split(":", 1)[0] for line in added] == ["notifier-events-2", "notifier-events-3"]
    assert [line.split(" -n ", 1)[1] for line in added] == ["events-2@%h", "events-3@%h"]
    refused = subprocess.run(
        [*script, "--events-workers", "0"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "at least 1" in refused.stderr
