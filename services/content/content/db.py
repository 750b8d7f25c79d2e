"""Tables of the content database (Alembic migrations are generated from this metadata)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from minhbach_shared.db import UtcDateTime, make_metadata
from minhbach_shared.outbox import outbox_table

metadata = make_metadata()

attachments = Table(
    "attachments",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("uploaded_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slug", String(120), nullable=False, unique=True),
    Column("state", String(20), nullable=False, index=True),
    Column("head", Integer, nullable=False),
    Column("live_revision", Integer, nullable=True),
    Column("scheduled_revision", Integer, nullable=True),
    Column("public_status", String(20), nullable=True),
    # Bumped by each event; 0 while the article has never been live.
    Column("version", Integer, nullable=False, default=0),
    Column("publish_at", UtcDateTime, nullable=True),
    Column("expire_at", UtcDateTime, nullable=True),
    # The expiry the scheduled revision brings; it becomes expire_at when that goes live.
    Column("scheduled_expire_at", UtcDateTime, nullable=True),
    Column("published_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=True),
    Column("review_comment", Text, nullable=True),
    # Of the live revision, for the public list: its category, and folded text for `q`.
    Column("category", String(20), nullable=True),
    Column("search_text", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Index("ix_articles_public_status_category", "public_status", "category"),
    Index("ix_articles_scheduled_revision_publish_at", "scheduled_revision", "publish_at"),
    Index("ix_articles_public_status_expire_at", "public_status", "expire_at"),
)

article_revisions = Table(
    "article_revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("author", String(200), nullable=False),
    Column("note", String(200), nullable=False),
    Column("content", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("article_id", "number", name="uq_article_revisions_article_id_number"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(100), nullable=False, unique=True),
    Column("type", String(100), nullable=False),
    Column("issuer", String(300), nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("effective_on", Date, nullable=True),
    Column("title", String(1000), nullable=False),
    Column("summary", Text, nullable=False),
    Column("attachment", String(64), ForeignKey("attachments.sha256"), nullable=True),
    Column("procedure_codes", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("in_force", Boolean, nullable=False),
    Column("search_text", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

document_relations = Table(
    "document_relations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("target_id", Integer, ForeignKey("documents.id"), nullable=False, index=True),
    UniqueConstraint("source_id", "kind", "target_id", name="uq_document_relations_source_id_kind_target"),
)

# Each correction of a filed document: who, when, the version it made, and for each field
# it changed {"before": ..., "after": ...}; the document's row holds only the current values.
document_corrections = Table(
    "document_corrections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("corrected_by", String(200), nullable=False),
    Column("corrected_at", UtcDateTime, nullable=False),
    Column("changes", JSON, nullable=False),
    Column("reason", Text, nullable=True),
    UniqueConstraint("document_id", "version", name="uq_document_corrections_document_id_version"),
)

outbox = outbox_table(metadata)
