"""The portal's one search box (issue 14), against the running system: the search service
(its own process, as the Procfile starts it) answers from what the portal disclosed.

A draft is never found; a procedure is found once a decision puts it in force and no
longer once it is abolished; an article leaves the results when it is unpublished; the
shared search cases pass on the demo data; document numbers and codes come first; the
page works without JavaScript (plain HTML, a GET form) and its links lead to real pages.
"""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import httpx
import pytest

from minhbach_shared.auth import Role
from minhbach_testing.harness import System, today_in_vietnam
from minhbach_testing.plugin import shared_dir, wait_until


def search_url(system: System) -> str:
    return f"http://127.0.0.1:{system.search_port}"


def search(system: System, q: str, **params: Any) -> dict[str, Any]:
    """The search service's JSON (what the kiosk reads)."""
    answer = httpx.get(f"{search_url(system)}/v1/search", params={"q": q, **params}, timeout=10)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def codes(result: dict[str, Any], kind: str = "procedure") -> list[str]:
    return [h["code"] for g in result["groups"] if g["kind"] == kind for h in g["hits"]]


def found_eventually(system: System, q: str, code: str, *, present: bool = True) -> None:
    wait_until(
        lambda: (code in codes(search(system, q, kind="procedure", size=50))) == present,
        timeout=20,
        message=f"{code} {'in' if present else 'out of'} the results for {q!r}",
    )


def test_shared_search_cases_on_the_demo_data(system: System) -> None:
    cases = json.loads((shared_dir() / "data" / "search-cases.json").read_text(encoding="utf-8"))["cases"]
    wait_until(
        lambda: codes(search(system, "MB.VL.001")) == ["MB.VL.001"], timeout=30, message="demo indexed"
    )
    for case in cases:
        got = codes(search(system, case["q"], kind="procedure", size=50))
        assert set(case["must"]) <= set(got), (case, got)
        assert not set(case["must_not"]) & set(got), (case, got)
        if case.get("first"):
            assert got[0] == case["first"], (case, got)


def test_a_procedure_is_found_only_while_in_force(system: System, procedure_like: Any) -> None:
    name = "Cấp phép khai thác đá ong xây dựng tường rào vùng ven biển"
    system.create_procedure(procedure_like("E2E.SRCH.1", name))
    # A draft is the Department's own business: the search cannot show it.
    assert codes(search(system, "khai thac da ong")) == []
    published = system.decide(
        "301/QĐ-SXD", [{"action": "new", "procedure_code": "E2E.SRCH.1"}], effective_on=today_in_vietnam()
    )
    assert published.status_code == 200, published.text
    found_eventually(system, "khai thác đá ong", "E2E.SRCH.1")
    assert codes(search(system, "KHAI THAC DA ONG"))[0] == "E2E.SRCH.1"
    assert codes(search(system, "e2e.srch.1"))[0] == "E2E.SRCH.1"

    abolished = system.decide(
        "302/QĐ-SXD", [{"action": "abolish", "procedure_code": "E2E.SRCH.1"}], effective_on=today_in_vietnam()
    )
    assert abolished.status_code == 200, abolished.text
    found_eventually(system, "khai thác đá ong", "E2E.SRCH.1", present=False)


def test_an_unpublished_article_leaves_the_results(system: System) -> None:
    title = "Hội thi tìm hiểu cải cách hành chính dành cho đoàn viên thanh niên xã Vũ Thư"
    system.publish_article({"category": "news", "title": title, "summary": "Tóm tắt.", "body": "Nội dung."})

    def titles() -> list[str]:
        result = search(system, "hoi thi doan vien thanh nien", kind="article")
        return [h["title"] for g in result["groups"] for h in g["hits"]]

    wait_until(lambda: title in titles(), timeout=20, message="the article in the results")
    with system.content() as api:
        listed = api.get(
            "/v1/articles", params={"q": "Hội thi tìm hiểu cải cách"}, headers=system.token(Role.EDITOR)
        )
        article_id = next(a["id"] for a in listed.json()["items"] if a["title"] == title)
        down = api.post(f"/v1/articles/{article_id}/unpublish", headers=system.token(Role.APPROVER))
        assert down.status_code == 200, down.text
    wait_until(
        lambda: title not in titles(), timeout=20, message="the unpublished article out of the results"
    )


def test_document_numbers_and_the_page_without_javascript(system: System) -> None:
    wait_until(
        lambda: codes(search(system, "61/2018/NĐ-CP"), "document")[:1] == ["61/2018/NĐ-CP"],
        timeout=30,
        message="the decree first",
    )
    for q in ("61/2018", "61/2018/ND-CP", "nghi dinh 61/2018"):
        assert codes(search(system, q), "document")[0] == "61/2018/NĐ-CP", q

    # The page as a browser without JavaScript gets it, from the portal's own address (the
    # notifier serves the portal locally) and from the search service: the same results.
    for base in (f"{system.pages_url}/portal", f"{search_url(system)}/portal"):
        page = httpx.get(f"{base}/tim-kiem", params={"q": "một cửa liên thông"}, timeout=10)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        assert '<html lang="vi">' in html
        assert "Văn bản chỉ đạo, pháp luật" in html
        assert re.search(r"<mark>một</mark> <mark>cửa</mark>", html, re.IGNORECASE), "matches marked"
        link = re.search(r'<a class="title" href="(van-ban/[^"]+)"', html)
        assert link, html
        target = system.portal_page(unescape(link.group(1)))
        assert target.status_code == 200 and "61/2018/NĐ-CP" in target.text

    # One kind only: every hit is a procedure page.
    page = httpx.get(
        f"{search_url(system)}/portal/tim-kiem", params={"q": "xay dung", "loai": "procedure"}, timeout=10
    ).text
    assert "Thủ tục hành chính (" in page and "Văn bản chỉ đạo, pháp luật (" not in page
    hits = re.findall(r'<a class="title" href="([^"]+)"', page)
    assert len(hits) >= 10 and all(h.startswith("thu-tuc/") for h in hits), hits


def test_nothing_found_says_what_to_try(system: System) -> None:
    page = httpx.get(f"{search_url(system)}/portal/tim-kiem", params={"q": "qwxzv"}, timeout=10).text
    assert "Không tìm thấy kết quả nào cho «qwxzv»" in page
    assert 'href="thu-tuc/index.html"' in page


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "x" * 201}, "q"),
        ({"q": "a", "loai": "drafts"}, "loai"),
        ({"q": "a", "loai": "procedure", "trang": 0}, "trang"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(system: System, params: dict[str, Any], field: str) -> None:
    answer = httpx.get(f"{search_url(system)}/portal/tim-kiem", params=params, timeout=10)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == [f"query.{field}"]
