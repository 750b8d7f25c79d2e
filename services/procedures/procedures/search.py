"""Accent- and case-insensitive search over published procedures.

SQLite: an FTS5 table over folded text, ranked by bm25 with a heavy weight on the
name. Other databases (PostgreSQL in compose): folded text columns and one LIKE
per word, served on PostgreSQL by pg_trgm GIN indexes on those columns. Both: every
word must match, an exact code comes first, then procedures whose name holds every
word, then the rest.

Drafts (never in force; staff only) are not indexed: `search_drafts` matches their code
and name here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    case,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from minhbach_shared.db import fetch_page
from minhbach_shared.text import fold
from procedures.db import procedures
from procedures.domain import ProcedureStatus

_WORD = re.compile(r"[0-9a-z]+")
# bm25 weights for (code, name, body): a word in the name counts far more.
_WEIGHTS = (4.0, 10.0, 1.0)
_FTS = table("procedure_search", column("rowid"))
_MAX_WORDS = 16
# What a list item shows; the actors are for staff summaries only.
_SUMMARY = (
    procedures.c.code,
    procedures.c.name,
    procedures.c.field,
    procedures.c.status,
    procedures.c.version,
    procedures.c.replaced_by,
    procedures.c.effective_at,
    procedures.c.drafted_by,
    procedures.c.edited_by,
    procedures.c.edited_at,
)


def words(query: str) -> list[str]:
    """The folded words of a query; FTS5 syntax in user input becomes plain words."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(fold(query)):
        seen[word] = None
    return list(seen)[:_MAX_WORDS]


def body_text(content: Mapping[str, Any]) -> str:
    """Every component except the name, as one folded text."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for key, value in content.items():
        if key != "name":
            walk(value)
    return fold(" ".join(parts))


def _unindexed(column: Any) -> Any:
    """`+table.column`: the same value, but SQLite will not use an index for it."""
    return literal_column(f"+{column.table.name}.{column.name}")


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def search_columns(code: str, content: Mapping[str, Any]) -> dict[str, str]:
    """The folded `search_name` and `search_body` of a procedure's published content."""
    return {
        "search_name": f"{fold(code)} {fold(str(content.get('name') or ''))}",
        "search_body": body_text(content),
    }


def index_procedures(session: Session, published: Sequence[tuple[int, str, Mapping[str, Any]]]) -> None:
    """Make the search see each (id, code, content) as that procedure's published text, in
    the session's transaction: one statement a step for all of them."""
    if not published:
        return
    columns = [{"b_id": id_, **search_columns(code, content)} for id_, code, content in published]
    session.execute(update(procedures).where(procedures.c.id == bindparam("b_id")), columns)
    if _is_sqlite(session):
        session.execute(
            text("DELETE FROM procedure_search WHERE rowid = :id"), [{"id": c["b_id"]} for c in columns]
        )
        session.execute(
            text("INSERT INTO procedure_search (rowid, code, name, body) VALUES (:id, :code, :name, :body)"),
            [
                {
                    "id": id_,
                    "code": fold(code),
                    "name": fold(str(content.get("name") or "")),
                    "body": c["search_body"],
                }
                for (id_, code, content), c in zip(published, columns, strict=True)
            ],
        )


@dataclass(frozen=True)
class SearchResult:
    rows: list[Row[Any]]
    total: int


def search(
    session: Session,
    *,
    q: str | None,
    field: str | None,
    status: str,
    page: int,
    size: int,
) -> SearchResult:
    filters = [procedures.c.status == status, procedures.c.version > 0]
    if field:
        filters.append(procedures.c.field == field)
    query_words = words(q or "")
    params: dict[str, str] = {}
    if not query_words:
        base = select(*_SUMMARY).where(*filters)
        order: list[Any] = [procedures.c.code]
    else:
        exact_code = func.upper(procedures.c.code) == (q or "").strip().upper()
        if _is_sqlite(session):
            # One MATCH, joined to its rows, ranked by its own bm25: every cost grows with
            # the hits, not with the catalogue. The code is indexed too, so a code query
            # matches through FTS; ordering puts the exact code first.
            match = " AND ".join(f'"{w}"' for w in query_words)
            in_name = select(_FTS.c.rowid).where(text("procedure_search MATCH :name_match"))
            base = (
                select(*_SUMMARY)
                .select_from(procedures.join(_FTS, _FTS.c.rowid == procedures.c.id))
                # Start from the FTS hits: offered the status index, SQLite walks every
                # procedure in force and runs the MATCH once per row (800 ms at 10,000).
                # A unary + keeps it off those indexes.
                .where(
                    _unindexed(procedures.c.status) == status,
                    procedures.c.version > 0,
                    *([_unindexed(procedures.c.field) == field] if field else []),
                    text("procedure_search MATCH :match"),
                )
            )
            params = {"match": match, "name_match": f"name : ({match})"}
            order = [
                case((exact_code, 0), else_=1),
                case((procedures.c.id.in_(in_name), 0), else_=1),
                func.bm25(literal_column("procedure_search"), *_WEIGHTS),
                procedures.c.code,
            ]
        else:
            # Portable path: folded columns, LIKE per word (words are [0-9a-z] only).
            # Both sides are folded to lower case already, so LIKE is ILIKE here, and on
            # PostgreSQL ~5x cheaper per row read (ILIKE lower-cases every text). On
            # PostgreSQL pg_trgm GIN indexes on both columns serve these LIKEs
            # (migration 0003). As on SQLite, the exact code is not ORed into the filter:
            # `search_name` starts with the folded code, so a code's words match there,
            # and an OR on upper(code) would keep PostgreSQL from the trigram indexes
            # (it would read every row). Ordering still puts the exact code first.
            def all_in(column: Any) -> Any:
                return and_(*(column.like(f"%{w}%") for w in query_words))

            base = select(*_SUMMARY).where(
                *filters,
                *(
                    or_(
                        procedures.c.search_name.like(f"%{w}%"),
                        procedures.c.search_body.like(f"%{w}%"),
                    )
                    for w in query_words
                ),
            )
            order = [
                case((exact_code, 0), else_=1),
                case((all_in(procedures.c.search_name), 0), else_=1),
                procedures.c.code,
            ]
    rows, total = fetch_page(session, base.order_by(*order), page=page, size=size, params=params)
    return SearchResult(rows=rows, total=total)


def search_drafts(
    session: Session, *, q: str | None, field: str | None, page: int, size: int
) -> SearchResult:
    """Procedures never in force, by code; with `q`, those whose code and name hold every
    word (accent-insensitive), an exact code first. Their text is not in the index (it
    holds what is published), and an office has tens of drafts, not thousands: they are
    matched here."""
    filters = [procedures.c.status == ProcedureStatus.DRAFT.value]
    if field:
        filters.append(procedures.c.field == field)
    statement: Select[Any] = select(*_SUMMARY).where(*filters).order_by(procedures.c.code)
    rows = list(session.execute(statement).all())
    if query_words := words(q or ""):
        code = (q or "").strip().upper()
        rows = [r for r in rows if all(w in fold(f"{r.code} {r.name}") for w in query_words)]
        rows.sort(key=lambda r: r.code.upper() != code)  # stable: by code after the exact one
    start = (page - 1) * size
    return SearchResult(rows=rows[start : start + size], total=len(rows))
