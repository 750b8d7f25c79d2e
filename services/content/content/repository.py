"""Loading and saving articles, documents and attachments, and the read queries. Nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from content.db import (
    article_revisions,
    articles,
    attachments,
    document_corrections,
    document_relations,
    documents,
)
from content.domain import (
    Article,
    Document,
    EditorialState,
    PublicStatus,
    Revision,
)
from minhbach_shared.db import fetch_page
from minhbach_shared.events import Envelope
from minhbach_shared.text import fold


def _revision(row: Row[Any]) -> Revision:
    return Revision(
        number=row.number, author=row.author, created_at=row.created_at, content=row.content, note=row.note
    )


def article_search_text(content: dict[str, Any]) -> str:
    parts = [content.get("title"), content.get("summary"), content.get("body"), *(content.get("tags") or [])]
    return fold(" ".join(p for p in parts if p))


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _folded_terms(column: Any, q: str | None) -> list[ColumnElement[bool]]:
    terms = fold(q or "").split()
    return [column.like(f"%{_like_escape(t)}%", escape="\\") for t in terms]


# A document's own fields (besides its number, version and in-force status).
DOCUMENT_FIELDS = (
    "type",
    "issuer",
    "signed_on",
    "effective_on",
    "title",
    "summary",
    "attachment",
    "procedure_codes",
)


class Repository:
    """Entities loaded or added in one unit of work; `persist` writes them all back."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._articles: dict[int, Article] = {}
        self._documents: dict[int, Document] = {}

    # Articles

    def get_article(self, article_id: int) -> Article | None:
        if article_id in self._articles:
            return self._articles[article_id]
        row = self.session.execute(
            select(articles).where(articles.c.id == article_id).with_for_update()
        ).one_or_none()
        if row is None:
            return None
        wanted = {row.head, row.live_revision, row.scheduled_revision} - {None}
        revisions = {
            r.number: _revision(r)
            for r in self.session.execute(
                select(article_revisions).where(
                    article_revisions.c.article_id == article_id, article_revisions.c.number.in_(wanted)
                )
            )
        }
        article = Article(
            id=row.id,
            slug=row.slug,
            state=EditorialState(row.state),
            head=row.head,
            revisions=revisions,
            live_revision=row.live_revision,
            scheduled_revision=row.scheduled_revision,
            public_status=PublicStatus(row.public_status) if row.public_status else None,
            version=row.version,
            publish_at=row.publish_at,
            expire_at=row.expire_at,
            scheduled_expire_at=row.scheduled_expire_at,
            published_at=row.published_at,
            updated_at=row.updated_at,
            review_comment=row.review_comment,
        )
        self._articles[article_id] = article
        return article

    def get_revision(self, article_id: int, number: int) -> Revision | None:
        row = self.session.execute(
            select(article_revisions).where(
                article_revisions.c.article_id == article_id, article_revisions.c.number == number
            )
        ).one_or_none()
        return _revision(row) if row is not None else None

    def unique_slug(self, base: str) -> str:
        """`base`, or `base-2`, `base-3`, ... whichever is free."""
        taken = set(
            self.session.execute(
                select(articles.c.slug).where(
                    or_(articles.c.slug == base, articles.c.slug.like(f"{_like_escape(base)}-%", escape="\\"))
                )
            ).scalars()
        )
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def add_article(self, article: Article) -> None:
        now = datetime.now(UTC)
        article.id = self.session.execute(
            insert(articles)
            .values(
                slug=article.slug,
                state=article.state.value,
                head=article.head,
                version=0,
                created_at=now,
                modified_at=now,
            )
            .returning(articles.c.id)
        ).scalar_one()
        self._articles[article.id] = article

    def _save_article(self, article: Article, now: datetime) -> None:
        live = article.revisions[article.live_revision].content if article.live_revision else None
        self.session.execute(
            update(articles)
            .where(articles.c.id == article.id)
            .values(
                state=article.state.value,
                head=article.head,
                live_revision=article.live_revision,
                scheduled_revision=article.scheduled_revision,
                public_status=article.public_status.value if article.public_status else None,
                version=article.version,
                publish_at=article.publish_at,
                expire_at=article.expire_at,
                scheduled_expire_at=article.scheduled_expire_at,
                published_at=article.published_at,
                updated_at=article.updated_at,
                review_comment=article.review_comment,
                category=live.get("category") if live else None,
                search_text=article_search_text(live) if live else None,
                modified_at=now,
            )
        )
        if article.new_revisions:
            self.session.execute(
                insert(article_revisions),
                [
                    {
                        "article_id": article.id,
                        "number": r.number,
                        "author": r.author,
                        "note": r.note,
                        "content": r.content,
                        "created_at": r.created_at,
                    }
                    for r in article.new_revisions
                ],
            )
            article.new_revisions.clear()

    def due_article_ids(self, now: datetime) -> list[int]:
        due_publish = and_(articles.c.scheduled_revision.is_not(None), articles.c.publish_at <= now)
        due_expiry = and_(
            articles.c.public_status == PublicStatus.PUBLISHED.value, articles.c.expire_at <= now
        )
        return list(
            self.session.execute(
                select(articles.c.id).where(or_(due_publish, due_expiry)).order_by(articles.c.id)
            ).scalars()
        )

    def next_due_at(self, now: datetime) -> datetime | None:
        """The soonest publish_at or expire_at still ahead of `now`, if any."""
        publish = select(func.min(articles.c.publish_at)).where(
            articles.c.scheduled_revision.is_not(None), articles.c.publish_at > now
        )
        expiry = select(func.min(articles.c.expire_at)).where(
            articles.c.public_status == PublicStatus.PUBLISHED.value, articles.c.expire_at > now
        )
        found = [self.session.execute(q).scalar_one_or_none() for q in (publish, expiry)]
        return min((at for at in found if at is not None), default=None)

    # Documents

    def documents_by_number(self, numbers: Sequence[str]) -> dict[str, Document]:
        rows = self.session.execute(
            select(documents).where(documents.c.number.in_(list(numbers))).with_for_update()
        ).all()
        found: dict[str, Document] = {}
        for row in rows:
            document = self._documents.get(row.id)
            if document is None:
                document = Document(
                    id=row.id,
                    number=row.number,
                    fields={"type": row.type, "title": row.title},
                    version=row.version,
                    in_force=row.in_force,
                )
                self._documents[row.id] = document
            found[row.number] = document
        return found

    def get_document(self, document_id: int) -> Document | None:
        """One document with every field, locked for the rest of the transaction."""
        row = self.session.execute(
            select(documents).where(documents.c.id == document_id).with_for_update()
        ).one_or_none()
        if row is None:
            return None
        document = Document(
            id=row.id,
            number=row.number,
            fields={name: getattr(row, name) for name in DOCUMENT_FIELDS},
            version=row.version,
            in_force=row.in_force,
        )
        self._documents[row.id] = document
        return document

    def has_articles(self) -> bool:
        return bool(self.session.execute(select(exists().select_from(articles))).scalar())

    def has_documents(self) -> bool:
        return bool(self.session.execute(select(exists().select_from(documents))).scalar())

    def document_exists(self, number: str) -> bool:
        return bool(self.session.execute(select(exists().where(documents.c.number == number))).scalar())

    def add_document(self, document: Document, *, created_by: str) -> None:
        now = datetime.now(UTC)
        f = document.fields
        document.id = self.session.execute(
            insert(documents)
            .values(
                number=document.number,
                type=f["type"],
                issuer=f["issuer"],
                signed_on=f["signed_on"],
                effective_on=f.get("effective_on"),
                title=f["title"],
                summary=f.get("summary") or "",
                attachment=f.get("attachment"),
                procedure_codes=list(f.get("procedure_codes") or []),
                version=document.version,
                in_force=document.in_force,
                search_text=fold(" ".join([document.number, f["title"], f.get("summary") or ""])),
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
            .returning(documents.c.id)
        ).scalar_one()
        if document.relations:
            self.session.execute(
                insert(document_relations),
                [
                    {"source_id": document.id, "kind": r.kind.value, "target_id": r.target_id}
                    for r in document.relations
                ],
            )
        self._documents[document.id] = document

    def _save_document(self, document: Document, now: datetime) -> None:
        corrected: dict[str, Any] = dict(document.corrected)
        if corrected:
            f = document.fields
            corrected["search_text"] = fold(" ".join([document.number, f["title"], f.get("summary") or ""]))
        self.session.execute(
            update(documents)
            .where(documents.c.id == document.id)
            .values(version=document.version, in_force=document.in_force, updated_at=now, **corrected)
        )
        if document.new_corrections:
            self.session.execute(
                insert(document_corrections),
                [
                    {
                        "document_id": document.id,
                        "version": c.version,
                        "corrected_by": c.corrected_by,
                        "corrected_at": c.corrected_at,
                        "changes": c.changes,
                        "reason": c.reason,
                    }
                    for c in document.new_corrections
                ],
            )
            document.new_corrections.clear()

    # Attachments

    def attachments_by_id(self, ids: Iterable[str]) -> dict[str, Row[Any]]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        return {
            r.sha256: r
            for r in self.session.execute(select(attachments).where(attachments.c.sha256.in_(wanted)))
        }

    def add_attachment(self, *, sha256: str, filename: str, content_type: str, size: int, by: str) -> bool:
        """Record an attachment; False if the same content was already recorded."""
        if self.attachments_by_id([sha256]):
            return False
        self.session.execute(
            insert(attachments).values(
                sha256=sha256,
                filename=filename,
                content_type=content_type,
                size=size,
                uploaded_by=by,
                created_at=datetime.now(UTC),
            )
        )
        return True

    # Unit of work support

    def persist(self) -> None:
        now = datetime.now(UTC)
        for article in self._articles.values():
            self._save_article(article, now)
        for document in self._documents.values():
            self._save_document(document, now)

    def collect_events(self) -> list[Envelope]:
        collected: list[Envelope] = []
        entities: list[Article | Document] = [*self._articles.values(), *self._documents.values()]
        for entity in entities:
            collected.extend(entity.events)
            entity.events.clear()
        return collected


# Read queries


def article_row(session: Session, article_id: int) -> Row[Any] | None:
    return session.execute(select(articles).where(articles.c.id == article_id)).one_or_none()


def revision_rows(session: Session, article_id: int, numbers: Iterable[int] | None = None) -> list[Row[Any]]:
    query = select(article_revisions).where(article_revisions.c.article_id == article_id)
    if numbers is not None:
        query = query.where(article_revisions.c.number.in_(list(numbers)))
    return list(session.execute(query.order_by(article_revisions.c.number)).all())


def live_articles(
    session: Session,
    *,
    category: str | None,
    q: str | None,
    tag: str | None,
    procedure_code: str | None,
    page: int,
    size: int,
) -> tuple[list[Row[Any]], int]:
    """Live articles (with their live revision's content), newest first."""
    where: list[ColumnElement[bool]] = [articles.c.public_status == PublicStatus.PUBLISHED.value]
    if category:
        where.append(articles.c.category == category)
    where += _folded_terms(articles.c.search_text, q)
    query = (
        select(articles, article_revisions.c.content)
        .join(
            article_revisions,
            and_(
                article_revisions.c.article_id == articles.c.id,
                article_revisions.c.number == articles.c.live_revision,
            ),
        )
        .where(*where)
        .order_by(articles.c.published_at.desc(), articles.c.id.desc())
    )
    rows = list(session.execute(query).all())
    # Tags and codes live in the revision's JSON; filtering them here stays portable.
    if tag:
        rows = [r for r in rows if fold(tag) in {fold(t) for t in r.content.get("tags") or []}]
    if procedure_code:
        rows = [r for r in rows if procedure_code in (r.content.get("procedure_codes") or [])]
    return rows[(page - 1) * size : page * size], len(rows)


def desk_articles(
    session: Session,
    *,
    state: str | None,
    scheduled: bool | None,
    category: str | None,
    q: str | None,
    page: int,
    size: int,
) -> tuple[list[Row[Any]], int]:
    """Every article in any state (with its newest revision's content), last changed first:
    the staff's desk. Category and words are the newest revision's, filtered here."""
    where: list[ColumnElement[bool]] = []
    if state:
        where.append(articles.c.state == state)
    if scheduled is not None:
        where.append(
            articles.c.scheduled_revision.is_not(None)
            if scheduled
            else articles.c.scheduled_revision.is_(None)
        )
    query = (
        select(articles, article_revisions.c.content, article_revisions.c.author.label("head_author"))
        .join(
            article_revisions,
            and_(
                article_revisions.c.article_id == articles.c.id,
                article_revisions.c.number == articles.c.head,
            ),
        )
        .where(*where)
        .order_by(articles.c.modified_at.desc(), articles.c.id.desc())
    )
    rows = list(session.execute(query).all())
    if category:
        rows = [r for r in rows if r.content.get("category") == category]
    terms = fold(q or "").split()
    if terms:
        rows = [r for r in rows if all(t in article_search_text(r.content) for t in terms)]
    return rows[(page - 1) * size : page * size], len(rows)


def document_row(session: Session, document_id: int) -> Row[Any] | None:
    return session.execute(select(documents).where(documents.c.id == document_id)).one_or_none()


def document_rows(
    session: Session, *, q: str | None, type_: str | None, page: int, size: int
) -> tuple[list[Row[Any]], int]:
    where = _folded_terms(documents.c.search_text, q)
    if type_:
        where.append(documents.c.type == type_)
    statement = select(documents).where(*where).order_by(documents.c.signed_on.desc(), documents.c.id.desc())
    return fetch_page(session, statement, page=page, size=size)


def relation_rows(session: Session, document_ids: Sequence[int]) -> tuple[list[Row[Any]], list[Row[Any]]]:
    """(outgoing, incoming) relations of the given documents, with the other side's number."""
    ids = list(document_ids)
    other = documents.alias("other")
    outgoing = session.execute(
        select(document_relations, other.c.number)
        .join(other, other.c.id == document_relations.c.target_id)
        .where(document_relations.c.source_id.in_(ids))
        .order_by(document_relations.c.id)
    ).all()
    incoming = session.execute(
        select(document_relations, other.c.number)
        .join(other, other.c.id == document_relations.c.source_id)
        .where(document_relations.c.target_id.in_(ids))
        .order_by(document_relations.c.id)
    ).all()
    return list(outgoing), list(incoming)


def correction_rows(session: Session, document_id: int) -> list[Row[Any]]:
    """A document's corrections, newest first."""
    return list(
        session.execute(
            select(document_corrections)
            .where(document_corrections.c.document_id == document_id)
            .order_by(document_corrections.c.version.desc(), document_corrections.c.id.desc())
        ).all()
    )


def attachment_row(session: Session, sha256: str) -> Row[Any] | None:
    return session.execute(select(attachments).where(attachments.c.sha256 == sha256)).one_or_none()


def attachment_rows(session: Session, ids: Iterable[str]) -> dict[str, Row[Any]]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {r.sha256: r for r in session.execute(select(attachments).where(attachments.c.sha256.in_(wanted)))}


def subject_versions(session: Session) -> list[tuple[str, str, int]]:
    found: list[tuple[str, str, int]] = [
        ("article", str(r.id), r.version)
        for r in session.execute(
            select(articles.c.id, articles.c.version).where(articles.c.version > 0).order_by(articles.c.id)
        )
    ]
    found.extend(
        ("document", str(r.id), r.version)
        for r in session.execute(select(documents.c.id, documents.c.version).order_by(documents.c.id))
    )
    return found
