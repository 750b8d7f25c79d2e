"""View models of the content service's subjects (articles, documents) for the portal.

Everything here is computed from the read model at render time: the article lists,
which articles and documents cite a procedure, and the relations between documents
in both directions (the union of what each side says, so a page is right even when
only one side of a relation has reached the notifier yet).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from markupsafe import Markup

from minhbach_shared.text import nfc, slugify
from minhbach_shared.times import parse_moment
from notifier.channels.base import ReadModel
from notifier.disclosure.domain import SubjectState
from notifier.sanitize import clean_html, safe_url

log = logging.getLogger(__name__)

LIVE = "published"
ARTICLE_STATUS = {
    "published": "Đang công bố",
    "scheduled": "Chưa đến thời điểm công bố",
    "unpublished": "Đã gỡ",
    "expired": "Hết thời hạn công bố",
}
DOCUMENTS_DIR = "van-ban"
# File names an article slug may not take in its category directory.
RESERVED = frozenset({"index", "feed"})
# A propaganda article also prints as an A3 panel: <category dir>/pano/<stem>.html. A folder
# of their own, so no article's slug can take a panel's name, and the scan of article
# pages (one folder deep) never mistakes a panel for an article.
PANEL_DIR = "pano"
PANEL_CATEGORIES = frozenset({"propaganda"})
_SAFE_STEM = re.compile(r"^[a-z0-9][a-z0-9-]{0,120}$")


@dataclass(frozen=True)
class Category:
    code: str
    dir: str
    title: str
    noun: str


CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category("news", "tin-tuc", "Tin cải cách hành chính", "tin"),
        Category("initiatives", "sang-kien", "Sáng kiến, mô hình hay", "sáng kiến, mô hình"),
        Category("plans_reports", "ke-hoach-bao-cao", "Kế hoạch, báo cáo", "kế hoạch, báo cáo"),
        Category("propaganda", "tuyen-truyen", "Tài liệu tuyên truyền", "tài liệu"),
    )
}

# Relation kinds: the active form (what a document does) and its passive inverse.
ACTIVE = {"amends": "amends", "replaces": "replaces"}
PASSIVE = {"amended_by": "amends", "replaced_by": "replaces"}
DOES = {"amends": "Sửa đổi, bổ sung", "replaces": "Thay thế"}
UNDERGOES = {"amends": "Được sửa đổi, bổ sung bởi", "replaces": "Được thay thế bởi"}


def _text(value: Any) -> str:
    return nfc(str(value)).strip() if value is not None else ""


def _texts(value: Any) -> list[str]:
    if not value or isinstance(value, str | bytes | dict):
        return [_text(value)] if isinstance(value, str) and value.strip() else []
    return [t for t in (_text(v) for v in value) if t]


def _iso_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def document_page(number: str, document_id: Any) -> str:
    """van-ban/<slugify(number)>.html; the id when the number gives no usable name."""
    stem = slugify(number) if number else ""
    return stem if stem != "-" and stem else f"van-ban-{document_id}"


def article_stem(state: dict[str, Any], article_id: str) -> str:
    """The file name (no .html) from the owner's slug, never a path or a reserved name."""
    raw = _text(state.get("slug"))
    stem = raw.lower() if _SAFE_STEM.match(raw.lower()) else slugify(raw or _text(state.get("title")))
    if not stem or stem == "-" or not _SAFE_STEM.match(stem):
        stem = f"bai-viet-{article_id}"
    if stem in RESERVED:
        stem = f"{stem}-{article_id}"
    return stem


def article_paths(articles: Iterable[SubjectState]) -> dict[str, str]:
    """Article id -> "<category dir>/<stem>.html"; on a clash the lowest id keeps the slug."""
    paths: dict[str, str] = {}
    taken: set[str] = set()
    for subject in sorted(articles, key=lambda s: (int(s.id) if s.id.isdigit() else 0, s.id)):
        category = CATEGORIES.get(str(subject.state.get("category")))
        if category is None:
            continue
        stem = article_stem(subject.state, subject.id)
        path = f"{category.dir}/{stem}.html"
        if path in taken:
            path = f"{category.dir}/{stem}-{subject.id}.html"
        taken.add(path)
        paths[subject.id] = path
    return paths


def _size(size: Any) -> str:
    try:
        n = int(size)
    except (TypeError, ValueError):
        return ""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".", ",")
    return f"{max(n // 1024, 1)} KB"


def _file_kind(content_type: Any) -> str:
    ct = str(content_type or "")
    if ct == "application/pdf":
        return "PDF"
    return "Ảnh" if ct.startswith("image/") else ""


def attachment_view(raw: Any, base_url: str | None) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    url = safe_url(raw.get("url"), base_url=base_url)
    if url is None:
        return None
    return {
        "filename": _text(raw.get("filename")) or "Tệp đính kèm",
        "url": url,
        "kind": _file_kind(raw.get("content_type")),
        "size": _size(raw.get("size")),
        "is_image": str(raw.get("content_type") or "").startswith("image/"),
    }


@dataclass
class ArticleView:
    id: str
    version: int
    status: str
    live: bool
    category: Category | None
    path: str  # from the portal root
    stem: str
    title: str
    summary: str
    body_raw: str
    cover: str | None
    tags: list[str]
    procedure_codes: list[str]
    attachments: list[dict[str, Any]]
    published_at: datetime | None
    updated_at: datetime | None
    base_url: str | None = field(repr=False, default=None)

    @property
    def body(self) -> Markup:
        """The body, sanitised again (computed only for the pages that show it)."""
        return clean_html(self.body_raw, base_url=self.base_url)

    @property
    def thumb(self) -> str | None:
        """The list's picture: the cover, else the first image attached (a propaganda panel)."""
        return self.cover or next((a["url"] for a in self.attachments if a["is_image"]), None)

    @property
    def category_code(self) -> str:
        return self.category.code if self.category else ""

    @property
    def panel_path(self) -> str | None:
        """The A3 panel it prints as, from the portal root (None: its category has none)."""
        if self.category is None or self.category.code not in PANEL_CATEGORIES:
            return None
        return f"{self.category.dir}/{PANEL_DIR}/{self.stem}.html"

    @property
    def updated_differs(self) -> bool:
        if self.updated_at is None or self.published_at is None:
            return False
        return self.updated_at.date() != self.published_at.date()

    @property
    def sort_key(self) -> tuple[datetime, int]:
        when = self.published_at or self.updated_at or datetime(1970, 1, 1, tzinfo=UTC)
        return (when, int(self.id) if self.id.isdigit() else 0)


def article_view(
    subject: SubjectState, path: str | None, *, now: datetime, base_url: str | None
) -> ArticleView:
    s = subject.state
    status = _text(s.get("status")) or "unpublished"
    expire_at = parse_moment(s.get("expire_at"))
    category = CATEGORIES.get(str(s.get("category")))
    # Live only when the owner says published; an expiry already passed (its event is
    # late) counts as gone too, so no list rebuilt meanwhile shows it.
    live = status == LIVE and category is not None and (expire_at is None or expire_at > now)
    stem = path.rsplit("/", 1)[-1].removesuffix(".html") if path else article_stem(s, subject.id)
    return ArticleView(
        id=subject.id,
        version=subject.version,
        status=status,
        live=live,
        category=category,
        path=path or "",
        stem=stem,
        title=_text(s.get("title")) or "(Không có tiêu đề)",
        summary=_text(s.get("summary")),
        body_raw=str(s.get("body_html") or ""),
        cover=safe_url(s.get("cover_image_url"), base_url=base_url),
        tags=_texts(s.get("tags")),
        procedure_codes=_texts(s.get("procedure_codes")),
        attachments=[a for a in (attachment_view(r, base_url) for r in s.get("attachments") or []) if a],
        published_at=parse_moment(s.get("published_at")) or parse_moment(s.get("publish_at")),
        updated_at=parse_moment(s.get("updated_at")),
        base_url=base_url,
    )


@dataclass(frozen=True, order=True)
class Relation:
    label: str
    number: str
    page: str  # "" when the portal has no page for that document (it is named, not linked)


@dataclass
class DocumentView:
    id: str
    version: int
    number: str
    page: str
    type: str
    issuer: str
    title: str
    summary: str
    signed_on: str
    signed_on_iso: str
    effective_on: str
    in_force: bool
    status_label: str
    attachment: dict[str, Any] | None
    procedure_codes: list[str]
    does: list[Relation] = field(default_factory=list)
    undergoes: list[Relation] = field(default_factory=list)
    # When its owner last changed it (the event's time): its feed entry's date.
    changed_at: datetime | None = None

    @property
    def relations(self) -> list[Relation]:
        """What it does to other documents, then what others do to it."""
        return [*self.does, *self.undergoes]


class DocumentGraph:
    """Every relation between documents, from both sides, as (actor, kind, target) numbers."""

    def __init__(self, documents: Iterable[SubjectState]) -> None:
        self.number_of: dict[str, str] = {}
        docs = list(documents)
        for d in docs:
            self.number_of[d.id] = _text(d.state.get("number")) or d.id
        self.edges: set[tuple[str, str, str]] = set()
        for d in docs:
            me = self.number_of[d.id]
            # What it says it does (relations), and what it says others do to it (related_by).
            for field_name, kinds, outgoing in (("relations", ACTIVE, True), ("related_by", PASSIVE, False)):
                for r in d.state.get(field_name) or []:
                    kind = kinds.get(str(r.get("kind")))
                    other = self._other(r)
                    if kind and other:
                        self.edges.add((me, kind, other) if outgoing else (other, kind, me))
                    elif other:
                        log.warning("unknown relation kind", extra={"document": d.id, "kind": r.get("kind")})
        self.ids_of: dict[str, str] = {n: i for i, n in self.number_of.items()}

    def _other(self, relation: dict[str, Any]) -> str:
        number = _text(relation.get("number"))
        if not number and relation.get("document_id") is not None:
            number = self.number_of.get(str(relation["document_id"]), "")
        return number

    def partners(self, number: str) -> set[str]:
        """Document ids related to `number` either way (their pages show the inverse)."""
        out = {t for a, _, t in self.edges if a == number} | {a for a, _, t in self.edges if t == number}
        return {self.ids_of[n] for n in out if n in self.ids_of}

    def replaced_by(self, number: str) -> list[str]:
        return sorted(a for a, k, t in self.edges if t == number and k == "replaces")

    def page_of(self, number: str) -> str:
        """The page of a document the portal has; "" for one only named by a relation."""
        return document_page(number, self.ids_of[number]) if number in self.ids_of else ""

    def relations(self, number: str) -> tuple[list[Relation], list[Relation]]:
        edges = self.edges
        does = sorted(Relation(DOES[k], t, self.page_of(t)) for a, k, t in edges if a == number)
        undergoes = sorted(Relation(UNDERGOES[k], a, self.page_of(a)) for a, k, t in edges if t == number)
        return does, undergoes


def document_view(
    subject: SubjectState, graph: DocumentGraph, *, today: date, base_url: str | None, vn_date: Any
) -> DocumentView:
    s = subject.state
    number = _text(s.get("number")) or subject.id
    does, undergoes = graph.relations(number)
    in_force = bool(s.get("in_force", True))
    replaced_by = graph.replaced_by(number)
    effective = _iso_date(s.get("effective_on"))
    if not in_force or replaced_by:
        in_force = False
        status = "Hết hiệu lực" + (f" (được thay thế bởi {', '.join(replaced_by)})" if replaced_by else "")
    elif effective is not None and effective > today:
        status = f"Chưa có hiệu lực (từ ngày {vn_date(effective)})"
    else:
        status = "Còn hiệu lực"
    return DocumentView(
        id=subject.id,
        version=subject.version,
        number=number,
        page=document_page(number, subject.id),
        type=_text(s.get("type")),
        issuer=_text(s.get("issuer")),
        title=_text(s.get("title")),
        summary=_text(s.get("summary")),
        signed_on=vn_date(s.get("signed_on")),
        signed_on_iso=str(s.get("signed_on") or ""),
        effective_on=vn_date(s.get("effective_on")),
        in_force=in_force,
        status_label=status,
        attachment=attachment_view(s.get("attachment"), base_url),
        procedure_codes=_texts(s.get("procedure_codes")),
        does=does,
        undergoes=undergoes,
        changed_at=subject.occurred_at or subject.updated_at,
    )


@dataclass
class ContentSite:
    """The content subjects of one read model, computed once per channel run."""

    articles: dict[str, ArticleView]
    documents: dict[str, DocumentView]
    graph: DocumentGraph
    _citations: dict[str, dict[str, list[Any]]] | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls, model: ReadModel, *, now: datetime, today: date, base_url: str | None, vn_date: Any
    ) -> ContentSite:
        article_subjects = model.of_kind("article")
        paths = article_paths(article_subjects)
        articles = {
            a.id: article_view(a, paths.get(a.id), now=now, base_url=base_url) for a in article_subjects
        }
        document_subjects = model.of_kind("document")
        graph = DocumentGraph(document_subjects)
        documents = {
            d.id: document_view(d, graph, today=today, base_url=base_url, vn_date=vn_date)
            for d in document_subjects
        }
        return cls(articles, documents, graph)

    def live(self, category: str | None = None) -> list[ArticleView]:
        """Live articles (of one category), newest first."""
        found = [
            a for a in self.articles.values() if a.live and (category is None or a.category_code == category)
        ]
        return sorted(found, key=lambda a: a.sort_key, reverse=True)

    def documents_sorted(self) -> list[DocumentView]:
        return sorted(self.documents.values(), key=lambda d: (d.signed_on_iso, d.number), reverse=True)

    def citing(self, code: str) -> dict[str, list[Any]]:
        """The live articles and the documents whose procedure_codes include `code`."""
        if self._citations is None:
            index: dict[str, dict[str, list[Any]]] = {}
            for a in self.live():
                for c in dict.fromkeys(a.procedure_codes):
                    index.setdefault(c, {"articles": [], "documents": []})["articles"].append(a)
            for d in self.documents_sorted():
                for c in dict.fromkeys(d.procedure_codes):
                    index.setdefault(c, {"articles": [], "documents": []})["documents"].append(d)
            self._citations = index
        return self._citations.get(code, {"articles": [], "documents": []})
