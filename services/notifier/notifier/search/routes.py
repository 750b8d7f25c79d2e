"""The public search: the results page (no JavaScript needed) and the same as JSON.

`/portal/tim-kiem` sits beside the portal's pages, so the pages' relative links and the
site's header work unchanged; nginx sends it (and `/v1/search`, the kiosk's) to the search
service. Both read `app.state.search` (a SearchIndexReader); nothing here writes.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from minhbach_shared.guard import GuardedRoute
from notifier.channels.pages import DEPARTMENT, SITE_TITLE, page_environment
from notifier.search.cache import AnswerCache
from notifier.search.domain import KINDS, Segment, highlight, parse_query, snippet
from notifier.search.index import Group, Results, SearchIndexReader

PER_KIND = 5  # hits per group on the page over every kind
PAGE_SIZE = 20  # hits per page within one kind
MAX_PAGE = 500
MAX_QUERY = 200
KindCode = Literal["procedure", "document", "decision", "article", "answer"]
# Results change only when the portal does: a browser may reuse one as briefly as the
# service does (notifier.search.cache).
STALE_S = 5.0
CACHE_CONTROL = f"public, max-age={STALE_S:.0f}"

router = APIRouter(tags=["search"], route_class=GuardedRoute)
_env = page_environment()


def marked(segments: list[Segment]) -> Markup:
    """Segments as HTML, the matched ones in <mark>."""
    return Markup("").join(Markup("<mark>%s</mark>") % t if hit else escape(t) for t, hit in segments)


def _reader(request: Request) -> SearchIndexReader:
    reader: SearchIndexReader = request.app.state.search
    return reader


async def _cached(
    request: Request, key: tuple[Any, ...], media_type: str, make: Callable[[], bytes]
) -> Response:
    """The answer for `key`, computed at most once per index version (and STALE_S). A kept
    answer is sent from the event loop (two stat calls and a lookup); only a new one is
    computed on a worker thread (SQLite and the page's rendering)."""
    cache: AnswerCache = request.app.state.search_cache
    generation = _reader(request).generation()
    body = cache.get(key, generation)
    if body is None:
        if cache.max_entries:
            body = await _computed_once(request, (key, generation), make)
        else:  # nothing kept (NOTIFIER_SEARCH_CACHE_SIZE=0): each request computes its own
            body = await run_in_threadpool(make)
        cache.put(key, generation, body)
    return Response(body, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL})


async def _computed_once(request: Request, key: tuple[Any, ...], make: Callable[[], bytes]) -> bytes:
    """One computation per answer at a time: when many search the same words the moment the
    portal changed, one thread computes the answer and the others wait for it (fifty
    requests, one SQLite query). Shielded: a citizen who leaves does not cancel it for the
    others."""
    computing: dict[tuple[Any, ...], asyncio.Future[bytes]] = request.app.state.search_computing
    pending = computing.get(key)
    if pending is None:
        pending = asyncio.ensure_future(run_in_threadpool(make))
        computing[key] = pending
        pending.add_done_callback(lambda _: computing.pop(key, None))
    return await asyncio.shield(pending)


def install_search(app: Any, reader: SearchIndexReader, *, cache_entries: int = 4096) -> None:
    """The search's routes and what they read, on `app` (the search service, or locally the
    notifier that serves the portal)."""
    app.state.search = reader
    app.state.search_cache = AnswerCache(max_entries=cache_entries, stale_s=STALE_S)
    app.state.search_computing = {}
    app.include_router(router)


def _run(request: Request, q: str, kind: str | None, page: int, size: int) -> Results:
    query = parse_query(q[:MAX_QUERY])
    return _reader(request).search(query, kind=kind, skip=(page - 1) * size, limit=size)


def _hit_view(group: Group, results: Results) -> list[dict[str, Any]]:
    query = results.query
    return [
        {
            "url": hit.url,
            "title": marked(highlight(hit.title, query)),
            "code": marked(highlight(hit.code, query)) if hit.code else "",
            "meta": hit.meta,
            "snippet": marked(snippet(hit.text, query)) if hit.text else "",
            "exact": hit.exact,
        }
        for hit in group.hits
    ]


@router.get("/portal/tim-kiem", response_class=HTMLResponse, summary="The public search page")
async def search_page(
    request: Request,
    q: Annotated[str, Query(max_length=MAX_QUERY, description="what the citizen typed")] = "",
    loai: Annotated[KindCode | None, Query(description="one kind only, paged")] = None,
    trang: Annotated[int, Query(ge=1, le=MAX_PAGE, description="page within that kind")] = 1,
) -> Response:
    return await _cached(
        request, ("html", q, loai, trang), "text/html; charset=utf-8", lambda: _page(request, q, loai, trang)
    )


def _page(request: Request, q: str, loai: str | None, trang: int) -> bytes:
    size = PAGE_SIZE if loai else PER_KIND
    results = _run(request, q, loai, trang, size)
    groups = [{"group": g, "hits": _hit_view(g, results)} for g in results.groups]
    pages = math.ceil(results.groups[0].total / size) if loai and results.groups else 0

    def link(**params: Any) -> str:
        values = {"q": results.query.text, **params}
        return "tim-kiem?" + urlencode({k: v for k, v in values.items() if v not in (None, "", 1)})

    html = _env.get_template("search.html").render(
        root="",
        site=SITE_TITLE,
        department=DEPARTMENT,
        query=results.query.text,
        results=results,
        groups=groups,
        kinds=KINDS,
        kind=loai,
        page=trang,
        pages=pages,
        link=link,
    )
    return html.encode("utf-8")


@router.get("/v1/search", summary="The public search as JSON (the kiosk's)")
async def search_json(
    request: Request,
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    kind: KindCode | None = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    size: Annotated[int, Query(ge=1, le=50)] = PER_KIND,
) -> Response:
    """Per kind (or the one `kind`), the best hits; `url` is relative to the portal's root."""
    return await _cached(
        request,
        ("json", q, kind, page, size),
        "application/json",
        lambda: json.dumps(_answer(request, q, kind, page, size), ensure_ascii=False).encode("utf-8"),
    )


def _answer(request: Request, q: str, kind: str | None, page: int, size: int) -> dict[str, Any]:
    results = _run(request, q, kind, page, size)
    query = results.query

    def text(segments: list[Segment]) -> str:
        return "".join(t for t, _ in segments)

    return {
        "query": query.text,
        "ready": results.ready,
        "total": results.total,
        "corrected": {word: list(alternatives) for word, alternatives in query.corrected.items()},
        "groups": [
            {
                "kind": g.kind.code,
                "title": g.kind.title,
                "total": g.total,
                "hits": [
                    {
                        "url": h.url,
                        "title": h.title,
                        "code": h.code,
                        "meta": h.meta,
                        "snippet": text(snippet(h.text, query)) if h.text else "",
                        "exact": h.exact,
                    }
                    for h in g.hits
                ],
            }
            for g in results.groups
        ],
    }
