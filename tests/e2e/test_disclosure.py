"""A procedure's life, seen where the public sees it: the portal pages and the Atom feed.

Every test drives the real processes (APIs over HTTP, relay, Celery workers, beat)
against a real redis-server, as started from the Procfile.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, date, datetime, time, timedelta

from minhbach_shared.auth import Role
from minhbach_testing.harness import VIETNAM, System, today_in_vietnam
from minhbach_testing.plugin import wait_until


def page_version(html: str) -> int:
    match = re.search(r'<meta name="mb:version" content="(\d+)"', html)
    assert match, "page carries no version marker"
    return int(match.group(1))


def test_decision_puts_procedure_in_force_on_its_page_and_in_the_feed(system: System, procedure_like):
    system.create_procedure(procedure_like("E2E.NEW.1", "Cấp giấy phép xây dựng nhà ở riêng lẻ đô thị"))
    published = system.decide(
        "101/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.NEW.1"}], effective_on=today_in_vietnam()
    )
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "in_effect"

    page = system.wait_for_page("thu-tuc/E2E.NEW.1.html", "Cấp giấy phép xây dựng nhà ở riêng lẻ đô thị")
    assert page_version(page) == 1
    assert "101/QĐ-SXD" in page  # the decision that put it in force
    feed = system.wait_for_page("feed.xml", "urn:minhbach:procedure:E2E.NEW.1:v1")
    assert "Cấp giấy phép xây dựng nhà ở riêng lẻ đô thị" in feed
    listing = system.wait_for_page("thu-tuc/index.html", "E2E.NEW.1")
    assert "Cấp giấy phép xây dựng nhà ở riêng lẻ đô thị" in listing


def test_amendment_shows_the_new_version(system: System, procedure_like):
    system.create_procedure(procedure_like("E2E.AMD.1", "Gia hạn giấy phép xây dựng công trình"))
    assert (
        system.decide(
            "102/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.AMD.1"}], effective_on=today_in_vietnam()
        ).status_code
        == 200
    )
    system.wait_for_page("thu-tuc/E2E.AMD.1.html", "E2E.AMD.1")

    with system.procedures() as api:
        edited = api.patch(
            "/v1/procedures/E2E.AMD.1",
            json={"processing_time": {"value": 7, "unit": "working_days"}},
            headers=system.token(Role.EDITOR),
        )
        assert edited.status_code == 200, edited.text
    assert (
        system.decide(
            "103/QĐ-SXD",
            [{"action": "amend", "procedure_code": "E2E.AMD.1"}],
            effective_on=today_in_vietnam(),
        ).status_code
        == 200
    )

    page = system.wait_for_page("thu-tuc/E2E.AMD.1.html", 'content="2"')
    assert "7 ngày làm việc" in page
    assert "103/QĐ-SXD" in page and "102/QĐ-SXD" in page  # the whole decision history
    system.wait_for_page("feed.xml", "urn:minhbach:procedure:E2E.AMD.1:v2")


def test_abolition_removes_it_from_every_list_and_its_page_says_so(system: System, procedure_like):
    field = "Giám định tư pháp xây dựng"
    body = procedure_like("E2E.ABL.1", "Bổ nhiệm giám định viên tư pháp xây dựng")
    body["field"] = field
    system.create_procedure(body)
    assert (
        system.decide(
            "104/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.ABL.1"}], effective_on=today_in_vietnam()
        ).status_code
        == 200
    )
    system.wait_for_page("thu-tuc/index.html", "E2E.ABL.1")
    field_page = "linh-vuc/giam-dinh-tu-phap-xay-dung.html"
    system.wait_for_page(field_page, "E2E.ABL.1")

    assert (
        system.decide(
            "105/QĐ-SXD",
            [{"action": "abolish", "procedure_code": "E2E.ABL.1"}],
            effective_on=today_in_vietnam(),
        ).status_code
        == 200
    )

    page = system.wait_for_page("thu-tuc/E2E.ABL.1.html", "Thủ tục này đã bị bãi bỏ")
    assert "105/QĐ-SXD" in page
    system.wait_for_page("feed.xml", "urn:minhbach:procedure:E2E.ABL.1:v2")
    for listing in ("thu-tuc/index.html", field_page):
        assert "thu-tuc/E2E.ABL.1.html" not in system.portal_page(listing).text, listing
    # the home page reports the abolition as news, but no longer counts its field
    home = system.wait_for_page("index.html", "Bãi bỏ: Bổ nhiệm giám định viên tư pháp xây dựng")
    assert field_page not in home
    with system.procedures() as api:
        found = api.get("/v1/procedures", params={"q": "giam dinh vien tu phap"}).json()
        assert [p["code"] for p in found["items"]] == []


def test_replacement_points_to_the_new_procedure(system: System, procedure_like):
    system.create_procedure(procedure_like("E2E.OLD.1", "Cấp chứng chỉ quy hoạch cũ"))
    assert (
        system.decide(
            "106/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.OLD.1"}], effective_on=today_in_vietnam()
        ).status_code
        == 200
    )
    system.create_procedure(procedure_like("E2E.REP.1", "Cấp chứng chỉ quy hoạch mới"))
    assert (
        system.decide(
            "107/QĐ-SXD",
            [
                {"action": "new", "procedure_code": "E2E.REP.1"},
                {"action": "replace", "procedure_code": "E2E.OLD.1", "replaced_by": "E2E.REP.1"},
            ],
            effective_on=today_in_vietnam(),
        ).status_code
        == 200
    )

    old = system.wait_for_page("thu-tuc/E2E.OLD.1.html", "Thủ tục này đã được thay thế")
    assert "E2E.REP.1.html" in old and "107/QĐ-SXD" in old
    listing = system.wait_for_page("thu-tuc/index.html", "E2E.REP.1")
    assert "thu-tuc/E2E.OLD.1.html" not in listing


def outbox_rows(system: System) -> int:
    path = system.env["PROCEDURES_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


def test_incomplete_procedure_is_refused_with_its_missing_components_and_nothing_changes(
    system: System, procedure_like
):
    complete = procedure_like("E2E.OK.9", "Thủ tục đầy đủ đi kèm")
    system.create_procedure(complete)
    with system.procedures() as api:
        created = api.post(
            "/v1/procedures",
            json={"code": "E2E.BAD.1", "name": "Thủ tục còn thiếu"},
            headers=system.token(Role.EDITOR),
        )
        assert created.status_code == 201, created.text
    outbox_before = outbox_rows(system)

    refused = system.decide(
        "108/QĐ-SXD",
        [{"action": "new", "procedure_code": "E2E.OK.9"}, {"action": "new", "procedure_code": "E2E.BAD.1"}],
        effective_on=today_in_vietnam(),
    )

    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert [e["procedure_code"] for e in errors] == ["E2E.BAD.1"]
    assert {"steps", "dossier", "fees", "legal_basis"} <= set(errors[0]["missing"])
    with system.procedures() as api:  # whole or nothing: the complete one stays a draft too
        assert api.get("/v1/procedures/E2E.OK.9").status_code == 404
    assert outbox_rows(system) == outbox_before  # not even an event was staged
    redis = system.redis.client()
    wait_until(
        lambda: not redis.llen("events") and not redis.llen("channel.portal") and not redis.hlen("unacked"),
        timeout=20,
        message="the relay and the notifier idle",
    )
    # Other tests' changes may still be disclosed meanwhile: look at these subjects only.
    with system.notifier() as notifier:
        for code in ("E2E.OK.9", "E2E.BAD.1"):
            found = notifier.get(
                "/v1/deliveries",
                params={"subject_kind": "procedure", "subject_id": code},
                headers=system.token(Role.OPERATOR),
            )
            assert found.status_code == 200 and found.json()["total"] == 0, (code, found.text)
    assert system.portal_page("thu-tuc/E2E.OK.9.html").status_code == 404
    assert "108/QĐ-SXD" not in system.portal_page("quyet-dinh/index.html").text


def test_future_decision_takes_effect_at_midnight_in_vietnam_not_before(system: System, procedure_like):
    system.create_procedure(procedure_like("E2E.FUT.1", "Thủ tục có hiệu lực sau"))
    effective_on = date.today() + timedelta(days=10)
    published = system.decide(
        "109/QĐ-SXD",
        [{"action": "new", "procedure_code": "E2E.FUT.1"}],
        effective_on=effective_on.isoformat(),
    )
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "scheduled"
    system.wait_for_page("quyet-dinh/index.html", "109/QĐ-SXD")  # announced as upcoming
    assert system.portal_page("thu-tuc/E2E.FUT.1.html").status_code == 404

    from minhbach_shared.names import APPLY_DUE_TASK
    from minhbach_shared.names import PROCEDURES_QUEUE as QUEUE
    from procedures.bootstrap import create_celery
    from procedures.settings import Settings

    celery = create_celery(Settings(redis_url=system.redis.url))
    midnight = datetime.combine(effective_on, time(0), tzinfo=VIETNAM)
    celery.send_task(
        APPLY_DUE_TASK, kwargs={"as_of": (midnight - timedelta(seconds=1)).isoformat()}, queue=QUEUE
    )
    with system.procedures() as api:
        # one second before midnight in Vietnam: still scheduled
        decision_id = published.json()["id"]
        assert api.get(f"/v1/decisions/{decision_id}").json()["status"] == "scheduled"
    celery.send_task(APPLY_DUE_TASK, kwargs={"as_of": midnight.astimezone(UTC).isoformat()}, queue=QUEUE)
    page = system.wait_for_page("thu-tuc/E2E.FUT.1.html", "Thủ tục có hiệu lực sau")
    assert page_version(page) == 1


def test_writes_need_the_right_role_and_bad_input_names_the_field(system: System):
    with system.procedures() as api:
        assert api.post("/v1/procedures", json={"code": "X.1", "name": "x"}).status_code == 401
        forbidden = api.post(
            "/v1/procedures", json={"code": "X.1", "name": "x"}, headers=system.token(Role.HOTLINE)
        )
        assert forbidden.status_code == 403
        malformed = api.post(
            "/v1/procedures",
            content=b'{"code": ',
            headers={**system.token(Role.EDITOR), "Content-Type": "application/json"},
        )
        assert malformed.status_code == 422
        assert [e["field"] for e in malformed.json()["errors"]] == ["body"]
        assert "line 1, column 10" in malformed.json()["errors"][0]["message"]
        too_long = api.post(
            "/v1/procedures", json={"code": "X.2", "name": "x" * 501}, headers=system.token(Role.EDITOR)
        )
        assert too_long.status_code == 422
        assert too_long.json()["errors"][0]["field"] == "name"
    with system.notifier() as notifier:
        assert notifier.post("/v1/channels/portal/resync").status_code == 401
        assert (
            notifier.post("/v1/channels/portal/resync", headers=system.token(Role.EDITOR)).status_code == 403
        )


def test_correlation_id_travels_from_the_request_to_the_notifiers_fetch(system: System, procedure_like):
    system.create_procedure(procedure_like("E2E.COR.1", "Thủ tục theo dõi mã tương quan"))
    with system.procedures() as api:
        created = api.post(
            "/v1/decisions",
            json={
                "number": "110/QĐ-SXD",
                "title": "Công bố thủ tục",
                "issuer": "Sở Xây dựng tỉnh Thái Bình",
                "signed_on": today_in_vietnam(),
                "effective_on": today_in_vietnam(),
                "changes": [{"action": "new", "procedure_code": "E2E.COR.1"}],
            },
            headers=system.token(Role.EDITOR),
        )
        decision_id = created.json()["id"]
        submitted = api.post(f"/v1/decisions/{decision_id}/submit", headers=system.token(Role.EDITOR))
        assert submitted.status_code == 200, submitted.text
        published = api.post(
            f"/v1/decisions/{decision_id}/publish",
            headers={**system.token(Role.APPROVER), "X-Correlation-ID": "e2e-corr-7f3a"},
        )
    assert published.headers["X-Correlation-ID"] == "e2e-corr-7f3a"
    system.wait_for_page("thu-tuc/E2E.COR.1.html", "Thủ tục theo dõi mã tương quan")

    def access_lines() -> list[dict]:
        log = system.processes["procedures"].log_path.read_text(encoding="utf-8")
        return [json.loads(line) for line in log.splitlines() if line.startswith("{")]

    # the notifier's fetch of the decision's subjects (one batch request) arrived carrying
    # the approver's request id; nothing else the notifier asked carries it
    ours = [line for line in access_lines() if line.get("correlation_id") == "e2e-corr-7f3a"]
    fetches = [line["message"].split(" ")[:2] for line in ours if "/v1/sync/" in line.get("message", "")]
    assert fetches, "the notifier never fetched the procedure"
    assert {tuple(f) for f in fetches} == {("POST", "/v1/sync/states")}

    # ...and the notifier's ingest task that took the events logged under it too: the
    # relay's message carried it from the outbox into Celery.
    def ingest_lines() -> list[dict]:
        log = system.processes["notifier-events"].log_path.read_text(encoding="utf-8")
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        return [
            line
            for line in lines
            if line.get("message") == "ingested" and "e2e-corr-7f3a" in (line.get("correlation_id") or "")
        ]

    wait_until(ingest_lines, timeout=10, message="the ingest task's log line under the request's id")
