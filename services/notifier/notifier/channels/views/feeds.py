"""The portal's Atom feeds beyond the changes of procedures: articles, answers, documents.

Each entry's `href` is a path from the portal's root; the channel makes it absolute from
the portal's public address when it writes the feed (see PortalChannel.write_feed).
Entries say only what the subject's own state says (no procedure names, nothing that
depends on today's date), so a feed needs rewriting only when a subject of its kind changed.
"""

from __future__ import annotations

from minhbach_shared.times import EPOCH
from notifier.channels.views.content import DOCUMENTS_DIR, ArticleView, DocumentView
from notifier.channels.views.procedures import Entry
from notifier.channels.views.qa import QA_DIR, AnswerView

SUMMARY_CHARS = 400


def shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    """At most `limit` characters, cut at a word, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def newest_first(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.updated, e.id), reverse=True)


def article_entry(a: ArticleView) -> Entry:
    return Entry(
        id=f"urn:minhbach:article:{a.id}:v{a.version}",
        title=a.title,
        href=a.path,
        updated=a.updated_at or a.published_at or EPOCH,
        summary=a.summary,
    )


def answer_entry(a: AnswerView) -> Entry:
    question = " ".join(a.question)
    answer = " ".join(a.answer)
    return Entry(
        id=f"urn:minhbach:answer:{a.id}:v{a.version}",
        title=a.subject,
        href=f"{QA_DIR}/{a.page}.html",
        updated=a.sort_key[0],
        summary=shorten(f"{a.kind}: {question} Trả lời: {answer}"),
    )


def document_entry(d: DocumentView) -> Entry:
    name = f"{d.type} số {d.number}" if d.type else f"Văn bản số {d.number}"
    dates = f"ký ngày {d.signed_on}" if d.signed_on else ""
    if d.effective_on:
        dates = (
            f"{dates}, hiệu lực từ ngày {d.effective_on}" if dates else f"hiệu lực từ ngày {d.effective_on}"
        )
    about = d.summary or d.title
    return Entry(
        id=f"urn:minhbach:document:{d.id}:v{d.version}",
        title=f"{name}: {d.title}" if d.title else name,
        href=f"{DOCUMENTS_DIR}/{d.page}.html",
        updated=d.changed_at or EPOCH,
        summary=shorten(f"{name} ({dates}). {about}" if dates else f"{name}. {about}"),
    )
