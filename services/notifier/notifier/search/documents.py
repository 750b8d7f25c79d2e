"""A disclosed page's view -> what the search indexes and shows of it.

Built from the same views the portal's pages are rendered from, so the search says what
the page says: a procedure's mandatory components, an article's text, a document's
summary, a published answer's redacted question and answer. None: not on the portal (a
procedure no longer in force, an article unpublished or expired, a withdrawn answer).
"""

from __future__ import annotations

import html
from typing import Any

import nh3

from notifier.channels.pages import vn_date
from notifier.channels.views.content import DOCUMENTS_DIR, ArticleView, DocumentView
from notifier.channels.views.qa import QA_DIR, AnswerView
from notifier.search.domain import SearchDocument


def _join(*parts: Any) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, list | tuple):
            out.extend(str(p) for p in part if p)
        elif part:
            out.append(str(part))
    return " · ".join(out)


def procedure_document(view: dict[str, Any]) -> SearchDocument | None:
    if not view["in_force"]:
        return None
    dossier = [item["name"] for item in view["dossier"]["items"]]
    fees = [f"{fee['name']}: {fee['text']}" if fee["name"] else fee["text"] for fee in view["fees"]]
    return SearchDocument(
        kind="procedure",
        id=view["code"],
        url=f"thu-tuc/{view['page']}.html",
        title=view["name"],
        code=view["code"],
        meta=_join(f"Lĩnh vực: {view['field']}", view["level"], view["agency"]),
        text=_join(
            view["subjects"],
            view["steps"],
            view["submission_methods"],
            dossier,
            view["processing_time"],
            view["result"],
            fees,
            view["forms"],
            view["requirements"],
            view["legal_basis"],
        ),
    )


def decision_document(view: dict[str, Any]) -> SearchDocument:
    changes = [f"{c['action']}: {c['name'] or c['code']} ({c['code']})" for c in view["changes"]]
    return SearchDocument(
        kind="decision",
        id=str(view["id"]),
        url=f"quyet-dinh/{view['page']}.html",
        title=view["title"] or f"Quyết định số {view['number']}",
        code=view["number"],
        meta=_join(view["issuer"], f"ký ngày {view['signed_on']}" if view["signed_on"] else ""),
        text=_join(changes),
    )


def document_document(d: DocumentView) -> SearchDocument:
    return SearchDocument(
        kind="document",
        id=d.id,
        url=f"{DOCUMENTS_DIR}/{d.page}.html",
        title=d.title or d.summary or d.number,
        code=d.number,
        meta=_join(d.type, d.issuer, f"ký ngày {d.signed_on}" if d.signed_on else "", d.status_label),
        text=d.summary if d.title else "",
    )


def plain_text(body_html: str) -> str:
    """An article body's words, without its markup (tags dropped, entities read)."""
    return " ".join(html.unescape(nh3.clean(body_html, tags=set())).split())


def article_document(a: ArticleView) -> SearchDocument | None:
    if not a.live or a.category is None:
        return None
    return SearchDocument(
        kind="article",
        id=a.id,
        url=a.path,
        title=a.title,
        meta=_join(a.category.title, vn_date(a.published_at)),
        text=_join(a.summary, plain_text(a.body_raw), a.tags),
    )


def answer_document(a: AnswerView) -> SearchDocument | None:
    if not a.live:
        return None
    return SearchDocument(
        kind="answer",
        id=a.id,
        url=f"{QA_DIR}/{a.page}.html",
        title=a.subject,
        meta=_join(a.kind, f"trả lời ngày {a.answered_on}" if a.answered_on else "", a.procedure_name),
        text=_join(a.question, a.answer),
    )
