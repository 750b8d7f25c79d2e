"""The restore drill: everything lost but a backup, and the public sees exactly what it saw.

A running system (every process of the Procfile, its own var directory, ports and Redis)
takes the changes its users make: a procedure amended by a published decision, an article
with an uploaded cover picture published, a hotline ticket answered and its answer
published, a console account added. Once every channel shows them, every portal page and
centre file is captured with some API answers; `scripts/backup.py create` (what `make
backup` runs) backs the running system up; an article is published after it. Then the
machine is lost: the system stopped, its var directory deleted (every database, the
portal, the centre, the attachments) and Redis started again with nothing.
`scripts/backup.py restore` (`make restore`) and a start as `make up` does, and nothing
else: no operator resync. The notifier's worker reconciles when it starts and writes the
portal and the centre again from the restored databases.

Then every page, notice and answer equals its capture (the pages' generation times
aside), the article of after the backup is nowhere, the attachment is served byte for
byte, and the new account signs in. The recovery point (the last change to the backup)
and the recovery time (restore started to everything equal) are printed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from minhbach_shared.auth import Role
from minhbach_testing.harness import System, today_in_vietnam
from minhbach_testing.plugin import REPO_ROOT, RedisServer, free_port, png, wait_until

BACKUP = [sys.executable, str(REPO_ROOT / "scripts" / "backup.py")]
ACCOUNT = ("nguyen.van.an", "mat-khau-rieng-2026", "Nguyễn Văn An")
PROCEDURE = "MB.XD.004"  # a demo procedure, amended
UNIT = "Phòng Quản lý xây dựng"
TEXT = {".html", ".xml", ".json", ".css", ".js", ".txt"}
# What a page says about when it was rendered, not about what it shows: the home page's and
# the kiosk board's "updated at", board.json's own time, and an empty feed's <updated> (a
# feed with entries is as new as its newest entry: that one must be equal).
GENERATED = re.compile(r"Cập nhật lúc \d{2}:\d{2} \d{2}/\d{2}/\d{4}")  # vn_datetime: 14:05 04/12/2026
FEED_UPDATED = re.compile(r"<updated>[^<]*</updated>")


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[System]:
    redis = RedisServer(port=free_port(), dir=tmp_path / "redis")
    redis.start()
    overrides = {
        # Every look-up comes from 127.0.0.1, many times over while the test waits.
        "HOTLINE_LOOKUP_RATE_LIMIT": "100000",
        # No periodic reconcile in the test's time (the harness runs one every 3 s): what
        # rebuilds the portal and the centre is the one the notifier's worker runs at start.
        "NOTIFIER_RECONCILE_INTERVAL_S": "3600",
    }
    system = System(root=tmp_path, redis=redis, overrides=overrides)
    try:
        system.start()
        system.load_demo()
        yield system
    finally:
        system.stop()
        redis.stop()


def normalised(relative: str, data: bytes) -> str:
    if Path(relative).suffix not in TEXT:
        return f"sha256:{hashlib.sha256(data).hexdigest()}"
    text = data.decode("utf-8")
    if relative.endswith("board.json"):
        board = json.loads(text)
        board.pop("generated_at")
        return json.dumps(board, sort_keys=True)
    if relative.endswith(".xml") and "<entry>" not in text:
        text = FEED_UPDATED.sub("<updated>…</updated>", text, count=1)
    return GENERATED.sub("Cập nhật lúc …", text)


def channel_files(system: System) -> dict[str, str]:
    """Every file of the portal and the centre, as the public gets them (generation times
    aside). Not what nobody is served (dot-files and dot-folders: the search's index is
    compared by what the search answers)."""
    return {
        f"{root.name}/{path.relative_to(root)}": normalised(str(path), path.read_bytes())
        for root in (system.portal_dir, system.center_dir)
        for path in sorted(root.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    }


def api_answers(system: System, ids: dict[str, Any]) -> dict[str, str]:
    """What the owners and the notifier answer about the changes (and around them)."""
    answers: dict[str, str] = {}

    def keep(name: str, response: Any) -> None:
        assert response.status_code == 200, (name, response.status_code, response.text)
        answers[name] = response.text

    with system.procedures() as api:
        keep("procedures", api.get("/v1/procedures", params={"size": 100}))
        keep("procedure", api.get(f"/v1/procedures/{PROCEDURE}"))
        keep("procedure versions", api.get(f"/v1/procedures/{PROCEDURE}/versions"))
        keep("decisions", api.get("/v1/decisions"))
    with system.content() as api:
        keep("articles", api.get("/v1/articles", params={"size": 100}))
        keep("article", api.get(f"/v1/articles/{ids['article']}"))
        keep("documents", api.get("/v1/documents", params={"size": 100}))
        picture = api.get(f"/v1/attachments/{ids['cover']}")
        assert picture.status_code == 200, f"the cover picture: {picture.status_code} {picture.text}"
        answers["cover picture"] = hashlib.sha256(picture.content).hexdigest()
    with system.hotline() as api:
        keep("ticket status", api.get(f"/v1/public/tickets/{ids['code']}"))
        keep("answer", api.get(f"/v1/public/answers/{ids['code']}"))
        keep("statistics", api.get("/v1/public/statistics"))
        keep("ticket", api.get(f"/v1/tickets/{ids['ticket']}", headers=system.token(Role.HOTLINE)))
    for q in ("giấy phép xây dựng", "61/2018/NĐ-CP", "cải cách hành chính", PROCEDURE):
        keep(f"search {q}", httpx.get(f"http://127.0.0.1:{system.search_port}/v1/search", params={"q": q}))
    with system.notifier() as api:
        report = api.get("/v1/disclosure/report", headers=system.token(Role.OPERATOR))
        assert report.status_code == 200, report.text
        # Which version each channel shows of each subject, and what is stale or missing;
        # not when it was disclosed (a rebuilt page is disclosed again) nor the latencies.
        body = report.json()
        for row in body["subjects"]:
            for cell in row["channels"].values():
                cell.pop("disclosed_at")
        answers["disclosure report"] = json.dumps(
            {k: body[k] for k in ("channels", "subjects", "stale", "missing")}, ensure_ascii=False, indent=1
        )
    return answers


def public_state(system: System, ids: dict[str, Any]) -> dict[str, str]:
    return {**channel_files(system), **{f"api: {k}": v for k, v in api_answers(system, ids).items()}}


def differences(before: dict[str, str], after: dict[str, str]) -> str:
    lines = []
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            lines.append(f"missing after restore: {key}")
        elif key not in before:
            lines.append(f"only after restore: {key}")
        elif before[key] != after[key]:
            diff = difflib.unified_diff(before[key].splitlines(), after[key].splitlines(), lineterm="", n=1)
            lines.append(f"differs: {key}\n" + "\n".join(list(diff)[2:12]))
    return "\n".join(lines)


def settled(system: System) -> bool:
    """No channel has anything left to deliver."""
    with system.notifier() as api:
        channels = api.get("/v1/channels", headers=system.token(Role.OPERATOR)).json()
    return all(c["backlog"] == 0 and c["dead"] == 0 for c in channels)


def stable_state(system: System, ids: dict[str, Any]) -> dict[str, str]:
    """The public state once every channel is idle and two looks a second apart agree."""
    previous: dict[str, str] = {}

    def same_twice() -> dict[str, str] | None:
        nonlocal previous
        if not settled(system):
            return None
        now = public_state(system, ids)
        agreed = now == previous
        previous = now
        return now if agreed else None

    return dict(wait_until(same_twice, timeout=30, interval=1, message="every channel idle"))


def cli(system: System, *args: str) -> str:
    """scripts/backup.py as `make backup` and `make restore` run it, in the system's environment."""
    done = subprocess.run(
        [*BACKUP, *args],
        cwd=system.root,
        env={**os.environ, **system.env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def make_changes(system: System) -> dict[str, Any]:
    """A procedure amended, an article with a picture and a hotline answer published; their ids."""
    with system.procedures() as api:
        edited = api.patch(
            f"/v1/procedures/{PROCEDURE}",
            json={"processing_time": {"value": 5, "unit": "working_days"}},
            headers=system.token(Role.EDITOR),
        )
        assert edited.status_code == 200, edited.text
    published = system.decide(
        "77/QĐ-SXD", [{"action": "amend", "procedure_code": PROCEDURE}], effective_on=today_in_vietnam()
    )
    assert published.status_code == 200, published.text

    cover = system.upload_image("mot-cua-than-thien.png", png(64, 48, (30, 110, 190)))
    article = system.write_article(
        {
            "category": "initiatives",
            "title": "Mô hình Một cửa thân thiện tại Sở Xây dựng",
            "summary": "Người dân được hướng dẫn tận tình.",
            "body": "Mô hình giúp rút ngắn thời gian chờ tại Bộ phận Một cửa.",
            "cover_image": cover,
        }
    )
    with system.content() as api:
        done = api.post(f"/v1/articles/{article}/publish", headers=system.token(Role.APPROVER))
        assert done.status_code == 200, done.text
        slug = api.get(f"/v1/articles/{article}/draft", headers=system.token(Role.EDITOR)).json()["slug"]

    ticket = system.publish_answer(
        {
            "kind": "kien_nghi",
            "subject": "Đề nghị rút ngắn thời hạn gia hạn giấy phép",
            "body": "Đề nghị Sở rút ngắn thời hạn gia hạn giấy phép xây dựng.",
            "procedure_code": PROCEDURE,
            "name": "Người dân",
            "phone": "0912345678",
            "consent_to_publish": True,
            "channel": "phone",
        },
        unit=UNIT,
        answer="Thời hạn gia hạn nay là 5 ngày làm việc.",
    )
    return {
        "cover": cover,
        "article": article,
        "article_page": f"sang-kien/{slug}.html",
        "ticket": ticket["id"],
        "code": ticket["tracking_code"],
    }


def wait_until_shown(system: System, ids: dict[str, Any]) -> None:
    wait_until(
        lambda: system.shown_version(PROCEDURE) == 2, timeout=30, message="the amendment on the portal"
    )
    wait_until(
        lambda: system.shown_version(PROCEDURE, channel="center") == 2,
        timeout=30,
        message="the amendment on the centre's notice",
    )
    system.wait_for_page(ids["article_page"], ids["cover"], timeout=30)
    system.wait_for_page(f"hoi-dap/{ids['code']}.html", "5 ngày làm việc", timeout=30)
    system.wait_for_page("hoi-dap/thong-ke.html", UNIT, timeout=30)


def add_account(system: System) -> None:
    username, password, name = ACCOUNT
    subprocess.run(
        [sys.executable, "-m", "console.manage", "add-user", username, "--name", name, "--role", "editor"],
        env={**os.environ, **system.env, "MB_NEW_PASSWORD": password},
        check=True,
        capture_output=True,
    )


def signs_in(system: System) -> bool:
    username, password, name = ACCOUNT
    with system.console(username, password) as console:
        return name in console.get("/console/").text


def test_a_system_lost_but_its_backup_comes_back_as_the_public_saw_it(drill: System) -> None:
    system = drill
    ids = make_changes(system)
    wait_until_shown(system, ids)
    before = stable_state(system, ids)
    # The normaliser hides what it says it hides, and only that.
    assert before["portal/index.html"].count("Cập nhật lúc …") == 1
    assert before["center/index.html"].count("Cập nhật lúc …") == 1
    assert any(k.startswith("center/thu-tuc/") for k in before) and f"portal/{ids['article_page']}" in before

    add_account(system)  # the last change, just before the backup
    last_change = time.time()
    made = cli(system, "create", "--dest", str(system.root / "backups"))
    assert signs_in(system)
    (backup,) = list((system.root / "backups").iterdir())
    taken = datetime.fromisoformat(json.loads((backup / "manifest.json").read_text())["created_at"])
    recovery_point = taken.timestamp() - last_change
    print(f"\n{made.strip()}")

    # After the backup: an article the restored system must not know.
    later = system.publish_article(
        {"category": "news", "title": "Bài viết sau bản sao lưu", "summary": "Sau.", "body": "Sau."}
    )
    system.wait_for_page(f"tin-tuc/{later}.html", "Bài viết sau bản sao lưu", timeout=30)

    # The machine is lost: every process stopped, the var directory gone, Redis empty.
    system.stop()
    system.redis.stop()
    shutil.rmtree(system.root / "var")
    shutil.rmtree(system.redis.dir)
    system.redis.start()

    started = time.monotonic()
    restored = cli(system, "restore", str(backup))
    print(restored.strip())
    restored_in = time.monotonic() - started
    system.start()  # as make up: migrate (nothing to do), then every process at once
    up_in = time.monotonic() - started
    try:
        after = wait_until(
            lambda: (state := public_state(system, ids)) == before and state,
            timeout=60,
            interval=0.5,
            message="every page, notice and answer as before the backup",
        )
    except AssertionError:
        notifier = "\n".join(
            f"--- {name}\n{system.processes[name].tail(20)}"
            for name in ("notifier-events", "notifier-maintenance", "notifier-portal")
        )
        raise AssertionError(f"{differences(before, public_state(system, ids))}\n{notifier}") from None
    recovery_time = time.monotonic() - started
    assert after == before
    assert system.portal_page(f"tin-tuc/{later}.html").status_code == 404
    assert "Bài viết sau bản sao lưu" not in system.portal_page("tin-tuc/index.html").text
    assert signs_in(system), "the account added before the backup signs in after the restore"
    pages = sum(1 for k in before if not k.startswith("api: "))
    print(
        f"recovery point: {recovery_point:.2f} s (last change to the backup's snapshot); "
        f"recovery time: {recovery_time:.1f} s (restore started to {pages} pages and files "
        f"and {len(before) - pages} API answers equal: restored in {restored_in:.1f} s, every API "
        f"answering at {up_in:.1f} s)"
    )
