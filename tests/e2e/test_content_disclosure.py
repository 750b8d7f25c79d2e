"""Reform news and directive documents, from the content API to the portal (issue 3).

Real processes from the Procfile: the content and procedures APIs, their relays and
workers, the notifier's workers, against a real redis-server.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta

from minhbach_shared.auth import Role
from minhbach_testing.harness import VIETNAM, System, today_in_vietnam
from minhbach_testing.plugin import shared_dir, wait_until


def write_article(system: System, **fields) -> int:
    body = {"category": "news", "summary": "Tóm tắt bài viết.", "body": "Nội dung **cải cách**.", **fields}
    return system.write_article(body)


def publish(system: System, article_id: int, **times: str) -> dict:
    with system.content() as api:
        published = api.post(
            f"/v1/articles/{article_id}/publish", json=times or None, headers=system.token(Role.APPROVER)
        )
        assert published.status_code == 200, published.text
        return published.json()


def slug_of(system: System, article_id: int) -> str:
    with system.content() as api:
        return str(
            api.get(f"/v1/articles/{article_id}/draft", headers=system.token(Role.EDITOR)).json()["slug"]
        )


def apply_schedule(system: System, as_of: datetime) -> int:
    """One tick of the content worker's schedule task at `as_of`; how many articles changed.

    Waits for the worker to report the task done (its log), so a check that follows
    sees the tick's effect, not a tick still in the queue.
    """
    from content.bootstrap import create_celery
    from content.settings import Settings
    from minhbach_shared.names import APPLY_SCHEDULE_TASK
    from minhbach_shared.names import CONTENT_QUEUE as QUEUE

    celery = create_celery(Settings(redis_url=system.redis.url))
    task_id = celery.send_task(APPLY_SCHEDULE_TASK, kwargs={"as_of": as_of.isoformat()}, queue=QUEUE).id

    def done() -> str | None:
        lines = system.processes["content-worker"].tail(400).splitlines()
        return next((line for line in lines if task_id in line and "succeeded" in line), None)

    line = wait_until(done, timeout=15, message=f"the content worker to run apply_schedule as of {as_of}")
    return int(json.loads(line)["message"].rsplit(":", 1)[1])


def test_article_published_now_is_on_its_list_page_and_feed(system: System):
    article_id = write_article(system, title="Sở Xây dựng rút ngắn thời gian cấp giấy phép xây dựng")
    publish(system, article_id)
    slug = slug_of(system, article_id)
    assert slug == "so-xay-dung-rut-ngan-thoi-gian-cap-giay-phep-xay-dung"  # đ and every mark folded

    page = system.wait_for_page(
        f"tin-tuc/{slug}.html", "Sở Xây dựng rút ngắn thời gian cấp giấy phép xây dựng"
    )
    assert "<strong>cải cách</strong>" in page
    system.wait_for_page("tin-tuc/index.html", f"{slug}.html")
    system.wait_for_page("tin-tuc/feed.xml", f"urn:minhbach:article:{article_id}:v")


def test_scheduled_article_appears_at_its_time_and_leaves_at_expiry(system: System):
    article_id = write_article(system, title="Kế hoạch tuyên truyền cải cách hành chính quý I")
    start = (datetime.now(VIETNAM) + timedelta(days=3)).replace(microsecond=0, tzinfo=None)
    end = start + timedelta(days=30)
    published = publish(system, article_id, publish_at=start.isoformat(), expire_at=end.isoformat())
    slug = slug_of(system, article_id)

    # The system is shared: other tests' scheduled articles may fall due in these runs too,
    # so what is checked is this article, not how many the run applied.
    apply_schedule(system, (start - timedelta(minutes=1)).replace(tzinfo=VIETNAM))
    system.wait_for_page("index.html", "</html>")
    with system.content() as api:  # not live before its time, on the API or the portal
        assert api.get(f"/v1/articles/{article_id}").status_code == 404
    assert f"{slug}.html" not in system.portal_page("tin-tuc/index.html").text, published

    assert apply_schedule(system, start.replace(tzinfo=VIETNAM)) >= 1
    system.wait_for_page(f"tin-tuc/{slug}.html", "Kế hoạch tuyên truyền cải cách hành chính quý I")
    system.wait_for_page("tin-tuc/index.html", f"{slug}.html")

    assert apply_schedule(system, end.replace(tzinfo=VIETNAM) + timedelta(seconds=1)) >= 1

    def gone_from_lists() -> bool:
        return all(
            f"{slug}.html" not in system.portal_page(path).text
            for path in ("tin-tuc/index.html", "tin-tuc/feed.xml", "index.html")
        )

    wait_until(gone_from_lists, timeout=15, message="the expired article to leave every list and feed")
    assert (
        "Kế hoạch tuyên truyền cải cách hành chính quý I"
        not in system.portal_page(f"tin-tuc/{slug}.html").text
    )


HOSTILE_BODIES = [
    "<script>alert('xss')</script>Bài viết",
    '<img src="x" onerror="alert(1)">',
    "[bấm vào đây](javascript:alert(1))",
    '<a href="javascript:alert(1)">liên kết</a>',
    '<svg onload="alert(1)"><script>alert(2)</script></svg>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div style="width: expression(alert(1))">x</div>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">dữ liệu</a>',
    "<iframe src='https://example.invalid'></iframe><p>không đóng thẻ <b>đậm",
    "<<script>script>alert(1)<</script>/script>",
]


DANGEROUS = (
    "<script",
    "onerror=",
    "onload=",
    'href="javascript:',
    'src="javascript:',
    'href="data:',
    'src="data:',
    "<svg",
    "<iframe",
    "expression(",
)


def test_hostile_bodies_never_reach_a_portal_page_or_feed(system: System):
    ids = []
    for i, body in enumerate(HOSTILE_BODIES):
        article_id = write_article(system, title=f"Bài kiểm tra an toàn số {i}", body=body)
        publish(system, article_id)
        ids.append(article_id)
    slugs = [slug_of(system, i) for i in ids]
    pages = [system.wait_for_page(f"tin-tuc/{s}.html", "Bài kiểm tra an toàn số") for s in slugs]
    feed = system.wait_for_page("tin-tuc/feed.xml", f"urn:minhbach:article:{ids[-1]}:v")
    listing = system.portal_page("tin-tuc/index.html").text
    for text in [*pages, html.unescape(feed), listing]:
        article = re.sub(r"(?s)^.*?<main", "<main", text)  # the page's own head may hold our CSS
        lowered = article.lower()
        # as markup, never merely as harmless text: an attribute, a tag, a URL scheme in a link
        for needle in DANGEROUS:
            assert needle not in lowered, (needle, article[:400])
        assert 'style="' not in lowered


LEGAL_DOCUMENTS = shared_dir() / "data" / "legal-documents.json"


def test_demo_documents_show_their_relations_both_ways(system: System):
    # The system loads the demo documents as `make up` does.
    amended = system.wait_for_page("van-ban/61-2018-nd-cp.html", "107/2021/NĐ-CP")
    assert "61/2018/NĐ-CP" in amended
    assert "Được sửa đổi, bổ sung bởi" in amended
    amending = system.wait_for_page("van-ban/107-2021-nd-cp.html", "61/2018/NĐ-CP")
    assert "Sửa đổi, bổ sung" in amending
    numbers = [d["number"] for d in json.loads(LEGAL_DOCUMENTS.read_text(encoding="utf-8"))["documents"]]
    assert len(numbers) == 6 and "3373/QĐ-UBND" in numbers
    amended_by = 'Được sửa đổi, bổ sung bởi <a href="107-2021-nd-cp.html">107/2021/NĐ-CP</a>'
    links = [f">{html.escape(number)}</a>" for number in numbers]

    def full_table() -> str | None:
        page = system.portal_page("van-ban/index.html")
        shown = page.text if page.status_code == 200 else ""
        return shown if amended_by in shown and all(link in shown for link in links) else None

    table = str(
        wait_until(full_table, timeout=15, message="the table to list all six documents and relations")
    )
    # The table itself says it, on 61/2018's row, both ways.
    cells = [re.findall(r"(?s)<td\b[^>]*>(.*?)</td>", row) for row in re.findall(r"(?s)<tr\b.*?</tr>", table)]
    rows = {re.sub(r"<[^>]*>", "", row[0]).strip(): "".join(row) for row in cells if row}
    assert set(numbers) <= set(rows), sorted(rows)
    assert amended_by in rows["61/2018/NĐ-CP"]
    assert 'Sửa đổi, bổ sung <a href="61-2018-nd-cp.html">61/2018/NĐ-CP</a>' in rows["107/2021/NĐ-CP"]
    assert "Còn hiệu lực" in rows["61/2018/NĐ-CP"]


def test_article_citing_a_procedure_is_linked_from_the_procedure_page_and_unpublishing_removes_it(
    system: System, procedure_like
):
    system.create_procedure(procedure_like("E2E.CITE.1", "Cấp giấy phép di dời công trình"))
    assert (
        system.decide(
            "501/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.CITE.1"}], effective_on=today_in_vietnam()
        ).status_code
        == 200
    )
    system.wait_for_page("thu-tuc/E2E.CITE.1.html", "Cấp giấy phép di dời công trình")

    article_id = write_article(
        system, title="Hướng dẫn thủ tục di dời công trình", procedure_codes=["E2E.CITE.1"]
    )
    publish(system, article_id)
    slug = slug_of(system, article_id)
    system.wait_for_page("thu-tuc/E2E.CITE.1.html", f"{slug}.html")

    with system.content() as api:
        down = api.post(f"/v1/articles/{article_id}/unpublish", headers=system.token(Role.APPROVER))
        assert down.status_code == 200, down.text

    def gone() -> bool:
        return all(
            f"{slug}.html" not in system.portal_page(path).text
            for path in ("thu-tuc/E2E.CITE.1.html", "tin-tuc/index.html", "tin-tuc/feed.xml", "index.html")
        )

    wait_until(gone, timeout=15, message="the unpublished article to leave every page")


def test_a_link_to_an_unknown_procedure_is_refused(system: System):
    with system.content() as api:
        refused = api.post(
            "/v1/articles",
            json={"category": "news", "title": "Liên kết sai", "body": "x", "procedure_codes": ["KHONG.CO"]},
            headers=system.token(Role.EDITOR),
        )
    assert refused.status_code == 422
    assert "KHONG.CO" in refused.text


def test_refused_attachments_leave_nothing_behind_over_http(system: System):
    """Over HTTP to the running content service: each refusal is a 422 and stores nothing."""
    attachments = system.root / "var" / "attachments"
    before = sorted(p for p in attachments.rglob("*") if p.is_file()) if attachments.exists() else []
    refused = [
        ("ghi-chu.png", b"just some text\n", "image/png"),  # the wrong type, named as an image
        ("quyet-dinh.pdf", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200, "application/pdf"),  # renamed
        ("anh.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x7fELF" + b"\x00" * 64, "image/png"),
        ("lon.pdf", b"%PDF-1.7\n" + b"\x00" * (11 * 1024 * 1024) + b"%%EOF\n", "application/pdf"),  # > 10 MB
    ]
    with system.content() as api:
        for name, data, declared in refused:
            response = api.post(
                "/v1/attachments", files={"file": (name, data, declared)}, headers=system.token(Role.EDITOR)
            )
            assert response.status_code == 422, (name, response.text)
            assert response.json()["errors"][0]["field"] == "file", name
    after = sorted(p for p in attachments.rglob("*") if p.is_file()) if attachments.exists() else []
    assert after == before, "a refused upload left a file"


def test_revisions_are_kept_compared_with_the_live_one_and_restored_over_http(system: System):
    article_id = write_article(system, title="Kế hoạch kiểm soát thủ tục hành chính năm 2026")
    publish(system, article_id)
    editor = system.token(Role.EDITOR)
    with system.content() as api:
        for change in ({"summary": "Tóm tắt đã sửa."}, {"body": "Nội dung **mới** của kế hoạch."}):
            assert api.patch(f"/v1/articles/{article_id}", json=change, headers=editor).status_code == 200
        revisions = api.get(f"/v1/articles/{article_id}/revisions", headers=editor).json()
        assert [(r["number"], r["live"]) for r in revisions["items"]] == [(1, True), (2, False), (3, False)]
        assert all(r["author"] == "e2e-editor" and r["created_at"] for r in revisions["items"])
        diff = api.get(f"/v1/articles/{article_id}/revisions/3/diff", headers=editor).json()
        assert diff["against"] == 1 and diff["changed_fields"] == ["summary", "body"]
        assert "+Nội dung **mới** của kế hoạch." in diff["diff"]
        restored = api.post(f"/v1/articles/{article_id}/revisions/1/restore", headers=editor).json()
        assert restored["head"] == 4 and restored["content"]["summary"] == "Tóm tắt bài viết."
        # The live revision stayed what the approver published all along.
        assert api.get(f"/v1/articles/{article_id}").json()["summary"] == "Tóm tắt bài viết."
