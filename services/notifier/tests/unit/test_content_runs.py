"""Content subjects in ingest and reconcile: the content owner never holds procedures back."""

import httpx
import pytest

from minhbach_testing.notifier import article_state, demo_documents, envelope, procedure_state
from notifier.disclosure import services as disclosure


def test_reconcile_with_the_content_owner_down_still_repairs_procedures(
    notifier, owner, content_owner, settings
):
    content_owner.put("article", article_state(7, 1))
    content_owner.down = True
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    report = disclosure.reconcile(notifier)
    assert report.unreachable == ["content"]
    assert report.fetched == [("procedure", "MB.XD.001")]
    disclosure.run_channel(notifier, "portal")
    assert (settings.portal_dir / "thu-tuc/MB.XD.001.html").exists()

    content_owner.down = False
    assert disclosure.reconcile(notifier).fetched == [("article", "7")]
    disclosure.run_channel(notifier, "portal")
    assert (settings.portal_dir / "tin-tuc/so-xay-dung-day-manh-cai-cach-hanh-chinh-nam-2026.html").exists()


def test_a_content_fetch_failing_mid_reconcile_does_not_hold_back_procedures(
    notifier, owner, content_owner, monkeypatch
):
    content_owner.put("article", article_state(7, 1))
    owner.put("procedure", procedure_state("MB.XD.001", 1))

    def broken(subject):
        raise httpx.HTTPStatusError(
            "503", request=httpx.Request("GET", "http://c"), response=httpx.Response(503)
        )

    monkeypatch.setattr(content_owner, "fetch", broken)  # versions() answers, fetch() fails
    report = disclosure.reconcile(notifier)
    assert report.fetched == [("procedure", "MB.XD.001")] and report.unreachable == ["content"]


def test_content_events_while_content_is_down_do_not_block_procedure_events(notifier, owner, content_owner):
    content_owner.put("article", article_state(7, 1))
    content_owner.down = True
    with pytest.raises(httpx.HTTPError):  # the task retries; nothing is written
        disclosure.ingest(notifier, [envelope("article", "7", 1)])
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    assert disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)]).changed == [
        ("procedure", "MB.XD.001")
    ]


def test_reconcile_redelivers_article_and_document_pages_deleted_behind_its_back(
    notifier, content_owner, settings
):
    content_owner.put("article", article_state(7, 1))
    for d in demo_documents():
        content_owner.put("document", d)
    assert len(disclosure.reconcile(notifier).fetched) == 7
    disclosure.run_channel(notifier, "portal")
    article = settings.portal_dir / "tin-tuc/so-xay-dung-day-manh-cai-cach-hanh-chinh-nam-2026.html"
    document = settings.portal_dir / "van-ban/61-2018-nd-cp.html"
    assert article.exists() and document.exists()
    assert disclosure.reconcile(notifier).redelivered == {"portal": [], "center": []}, (
        "converged: nothing to repair"
    )
    article.unlink()
    document.unlink()
    assert sorted(disclosure.reconcile(notifier).redelivered["portal"]) == [
        ("article", "7"),
        ("document", "2"),
    ]
    disclosure.run_channel(notifier, "portal")
    assert article.exists() and "Được sửa đổi, bổ sung bởi" in document.read_text(encoding="utf-8")


def test_an_unpublished_article_counts_as_shown_by_its_notice(notifier, content_owner):
    content_owner.put("article", article_state(7, 1))
    disclosure.ingest(notifier, [envelope("article", "7", 1)])
    disclosure.run_channel(notifier, "portal")
    content_owner.put("article", article_state(7, 2, status="unpublished"))
    disclosure.ingest(notifier, [envelope("article", "7", 2, "article.unpublished")])
    assert disclosure.run_channel(notifier, "portal").sent == 1
    again = disclosure.reconcile(notifier)
    assert again.fetched == [] and again.redelivered == {"portal": [], "center": []}
