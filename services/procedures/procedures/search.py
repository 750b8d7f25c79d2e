"""Accent- and case-insensitive search over published procedures.

SQLite: an FTS5 table over folded text, ranked by bm25 with a heavy weight on the
name. Other databases (PostgreSQL in compose): folded text columns and one ILIKE
per word. Both: every word must match, an exact code comes first, then
procedures whose name holds every word, then the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from minhbach_shared.text import fold
from procedures.db import procedures

_WORD = re.compile(r"[0-9a-z]+")
# bm25 weights for (code, name, body): a word in the name counts far more.
_WEIGHTS = "4.0, 10.0, 1.0"
_MAX_WORDS = 16


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


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def index_procedure(session: Session, *, procedure_id: int, code: str, content: Mapping[str, Any]) -> None:
    """Make the search see `content` as the procedure's published text (same transaction)."""
    name = fold(str(content.get("name") or ""))
    body = body_text(content)
    session.execute(
        update(procedures)
        .where(procedures.c.id == procedure_id)
        .values(search_name=f"{fold(code)} {name}", search_body=body)
    )
    if _is_sqlite(session):
        session.execute(text("DELETE FROM procedure_search WHERE rowid = :id"), {"id": procedure_id})
        session.execute(
            text("INSERT INTO procedure_search (rowid, code, name, body) VALUES (:id, :code, :name, :body)"),
            {"id": procedure_id, "code": fold(code), "name": name, "body": body},
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
    columns = [
        procedures.c.code,
        procedures.c.name,
        procedures.c.field,
        procedures.c.status,
        procedures.c.version,
        procedures.c.replaced_by,
        procedures.c.effective_at,
    ]
    if not query_words:
        base = select(*columns).where(*filters)
        order: list[Any] = [procedures.c.code]
    else:
        exact_code = func.lower(procedures.c.code) == (q or "").strip().lower()
        if _is_sqlite(session):
            match = " AND ".join(f'"{w}"' for w in query_words)
            hits = (
                select(text("rowid"))
                .select_from(text("procedure_search"))
                .where(text("procedure_search MATCH :match"))
            )
            in_name = (
                select(text("rowid"))
                .select_from(text("procedure_search"))
                .where(text("procedure_search MATCH :name_match"))
            )
            score = (
                select(text(f"bm25(procedure_search, {_WEIGHTS})"))
                .select_from(text("procedure_search"))
                .where(text("procedure_search.rowid = procedures.id AND procedure_search MATCH :match"))
                .scalar_subquery()
            )
            base = select(*columns).where(*filters, or_(procedures.c.id.in_(hits), exact_code))
            params = {"match": match, "name_match": f"name : ({match})"}
            order = [
                case((exact_code, 0), else_=1),
                case((procedures.c.id.in_(in_name), 0), else_=1),
                score,
                procedures.c.code,
            ]
        else:
            # Portable path: folded columns, ILIKE per word (words are [0-9a-z] only).
            def all_in(column: Any) -> Any:
                return and_(*(column.ilike(f"%{w}%") for w in query_words))

            base = select(*columns).where(
                *filters,
                or_(
                    and_(
                        *(
                            or_(
                                procedures.c.search_name.ilike(f"%{w}%"),
                                procedures.c.search_body.ilike(f"%{w}%"),
                            )
                            for w in query_words
                        )
                    ),
                    exact_code,
                ),
            )
            order = [
                case((exact_code, 0), else_=1),
                case((all_in(procedures.c.search_name), 0), else_=1),
                procedures.c.code,
            ]
    total = session.execute(select(func.count()).select_from(base.subquery()), params).scalar_one()
    rows = session.execute(base.order_by(*order).limit(size).offset((page - 1) * size), params).all()
    return SearchResult(rows=list(rows), total=int(total))
