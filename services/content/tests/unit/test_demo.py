"""The demo's articles (issue 14: a newcomer's first look is not empty): a few of each
category, each with its picture uploaded as any attachment is, written, submitted and
published by the service's own use cases, and loaded only into a database without articles."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from content import demo, services
from content.domain import Category
from content.storage import AttachmentStore, sniff
from content.uow import UnitOfWork
from minhbach_testing.procedures_api import KnownProcedures
from minhbach_testing.uow import UnitsOfWork

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def load(units: UnitsOfWork[UnitOfWork], store: AttachmentStore) -> int:
    return demo.load_demo_articles(units, store, now=NOW, procedures=KnownProcedures())


def test_the_demo_publishes_articles_of_every_category_with_pictures_once(units, tmp_path):
    store = AttachmentStore(tmp_path / "attachments", max_bytes=1024 * 1024)
    assert load(units, store) == len(demo.ARTICLES)
    with Session(units.engine) as session:
        page = services.list_articles(
            session, category=None, q=None, tag=None, procedure_code=None, page=1, size=50
        )
    assert page.total == len(demo.ARTICLES)
    by_category: dict[str, int] = {}
    for article in page.items:
        by_category[article.category] = by_category.get(article.category, 0) + 1
        assert article.status == "published" and article.cover_image_url
        assert unicodedata.is_normalized("NFC", article.title + article.summary + article.body_html)
        cover = store.path_for(article.cover_image_url.rsplit("/", 1)[-1]).read_bytes()
        assert sniff(cover[:64]) == "image/png" and len(cover) < 20_000
        if article.category == Category.PROPAGANDA:
            assert [a.content_type for a in article.attachments] == ["image/png"]
    assert set(by_category) == {c.value for c in Category} and min(by_category.values()) >= 2
    published = [e for e in units.outbox() if e["type"] == "article.published"]
    assert len(published) == len(demo.ARTICLES)
    # Loaded again: nothing added, nothing sent.
    before = len(units.outbox())
    assert load(units, store) == 0
    assert len(units.outbox()) == before
