"""The online public service portal (dvc) down for a while: it still gets everything, once, in order.

A system of its own from the Procfile (real processes, real redis-server, real
SQLite, the dvc stand-in receiver over HTTP). The receiver is first not listening at
all, then answers 503, while procedures are put in force, amended and abolished and a
hotline answer is published. The portal goes on meanwhile; once the receiver is back,
every procedure and decision ends at its newest version there, no (subject, version)
was accepted twice, versions arrived in order per subject, and no ticket ever left.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from minhbach_shared.auth import Role
from minhbach_testing.harness import System, running_system, today_in_vietnam
from minhbach_testing.plugin import wait_until

QUESTION = "Hồ sơ cấp phép của tôi nộp từ tháng trước nhưng chưa có kết quả, xin Sở trả lời."


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    """A system of its own: this test takes its dvc receiver down."""
    # Backoff capped at 2 s: the receiver's return is noticed within seconds, not minutes.
    with running_system(tmp_path, NOTIFIER_RETRY_CAP_S="2") as running:
        yield running


def decide(system: System, number: str, action: str, codes: list[str]) -> str:
    published = system.decide(
        number, [{"action": action, "procedure_code": c} for c in codes], effective_on=today_in_vietnam()
    )
    assert published.status_code == 200, published.text
    return str(published.json()["id"])


def amend(system: System, number: str, codes: list[str], days: int) -> None:
    with system.procedures() as api:
        for code in codes:
            edited = api.patch(
                f"/v1/procedures/{code}",
                json={"processing_time": {"value": days, "unit": "working_days"}},
                headers=system.token(Role.EDITOR),
            )
            assert edited.status_code == 200, edited.text
    decide(system, number, "amend", codes)


def publish_answer(system: System, code: str) -> str:
    """A hotline answer about `code`, published: the tracking code."""
    ticket = system.publish_answer(
        {
            "kind": "phan_anh",
            "subject": "Chậm cấp giấy phép xây dựng",
            "body": QUESTION,
            "procedure_code": code,
            "name": "Trần Văn Bình",
            "email": "binh@example.vn",
            "consent_to_publish": True,
        },
        unit="Phòng Quản lý xây dựng",
        answer="Hồ sơ được trả kết quả trong 5 ngày làm việc.",
    )
    return str(ticket["tracking_code"])


def owner_versions(system: System) -> dict[tuple[str, str], int]:
    with system.procedures() as api:
        subjects = api.get("/v1/sync/versions").json()["subjects"]
    return {(s["kind"], str(s["id"])): int(s["version"]) for s in subjects}


def held(items: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """The newest version the receiver holds of each subject."""
    newest: dict[tuple[str, str], int] = {}
    for item in items:
        data = item["payload"]["data"]
        key = (data["subject"]["kind"], str(data["subject"]["id"]))
        newest[key] = max(newest.get(key, 0), int(data["version"]))
    return newest


def dvc_rows(system: System, **params: str) -> list[dict[str, Any]]:
    with system.notifier() as api:
        rows: list[dict[str, Any]] = api.get(
            "/v1/deliveries",
            params={"channel": "dvc", "size": "200", **params},
            headers=system.token(Role.OPERATOR),
        ).json()["items"]
    return rows


def converge(system: System, wanted: dict[tuple[str, str], int], *, timeout: float = 60) -> None:
    def there() -> bool:
        have = held(system.dvc_received())
        return all(have.get(key) == version for key, version in wanted.items())

    try:
        wait_until(there, timeout=timeout, interval=0.2, message="the receiver at every newest version")
    except AssertionError:
        have = held(system.dvc_received())
        behind = {k: (have.get(k), v) for k, v in wanted.items() if have.get(k) != v}
        raise AssertionError(f"behind at the receiver (held, wanted): {behind}\n{system.logs()}") from None


def test_receiver_down_then_back_gets_every_newest_version_once_in_order_and_no_ticket(
    system: System, procedure_like
):
    codes = [f"DVC.OUT.{i:02d}" for i in range(6)]
    for i, code in enumerate(codes):
        system.create_procedure(procedure_like(code, f"Thủ tục thử nghiệm cổng dịch vụ công số {i}", base=i))

    # 1. The receiver is not listening at all.
    system.processes["dvc-standin"].kill()
    decisions = [decide(system, "501/QĐ-SXD", "new", codes)]
    amend(system, "502/QĐ-SXD", codes[:3], days=11)
    decisions.append(decide(system, "503/QĐ-SXD", "abolish", codes[5:]))
    tracking = publish_answer(system, codes[0])
    # The portal goes on without it.
    system.wait_for_page(f"hoi-dap/{tracking}.html", "5 ngày làm việc", timeout=30)
    system.wait_for_page(f"thu-tuc/{codes[0]}.html", "11 ngày làm việc", timeout=30)
    system.wait_for_page(f"thu-tuc/{codes[5]}.html", "Thủ tục này đã bị bãi bỏ", timeout=30)

    def unreachable() -> bool:
        rows = dvc_rows(system, status="pending")
        return any(r["attempts"] >= 1 and "unreachable" in (r["last_error"] or "") for r in rows)

    wait_until(unreachable, timeout=30, message="dvc deliveries failing while the receiver is gone")
    assert not dvc_rows(system, subject_kind="ticket"), "a ticket never gets a dvc row"

    system.start_process("dvc-standin")
    wanted = {k: v for k, v in owner_versions(system).items() if k[1] in codes or k[1] in decisions}
    assert len(wanted) == len(codes) + len(decisions)
    converge(system, wanted)

    # 2. The receiver is there but answers 503.
    assert httpx.post(f"{system.dvc_url}/fail", json={"status": 503}, timeout=5).status_code == 200
    amend(system, "504/QĐ-SXD", codes[1:3], days=13)
    amend(system, "505/QĐ-SXD", codes[2:3], days=17)
    system.wait_for_page(f"thu-tuc/{codes[2]}.html", "17 ngày làm việc", timeout=30)

    def refused() -> bool:
        rows = dvc_rows(system, status="pending", subject_id=codes[2])
        return any("HTTP 503" in (r["last_error"] or "") for r in rows)

    wait_until(refused, timeout=30, message="dvc deliveries refused with 503")
    assert httpx.post(f"{system.dvc_url}/fail", json={"status": None}, timeout=5).status_code == 200
    wanted = {k: v for k, v in owner_versions(system).items() if k in wanted or k[1] in codes}
    assert wanted[("procedure", codes[2])] == 4
    converge(system, wanted)

    items = system.dvc_received()
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)), "a webhook-id accepted twice"
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item in items:
        data = item["payload"]["data"]
        seen[(data["subject"]["kind"], str(data["subject"]["id"]))].append(int(data["version"]))
    for key, versions in seen.items():
        assert versions == sorted(set(versions)), f"{key}: versions out of order or twice: {versions}"
    assert {kind for kind, _ in seen} <= {"procedure", "decision"}
    received_text = "\n".join(i["body"] for i in items)
    assert tracking not in received_text and QUESTION not in received_text, "a ticket reached the dvc"
    abolished = [i for i in items if i["id"] == f"mb_procedure_{codes[5]}_v2"]
    assert abolished and abolished[0]["payload"]["data"]["procedure"]["status"] == "abolished"
    assert not dvc_rows(system, status="dead"), "nothing gave up"
