"""A tiny owner API over real HTTP (uvicorn in a thread), serving contract-shaped JSON."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, HTTPException

from minhbach_testing.notifier import FakeOwner
from minhbach_testing.plugin import serving


def owner_api(owner: FakeOwner) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record(request, call_next):  # type: ignore[no-untyped-def]
        owner.requests.append(f"{request.method} {request.url.path}")
        return await call_next(request)

    def state(kind: str, subject_id: str) -> dict:
        found = owner.states.get((kind, subject_id))
        if found is None:
            raise HTTPException(404, "not published")
        if found.get("_fail"):
            raise HTTPException(503, "owner overloaded")
        return found

    @app.get("/v1/procedures/{code}")
    def procedure(code: str) -> dict:
        return state("procedure", code)

    @app.get("/v1/decisions/{decision_id}")
    def decision(decision_id: str) -> dict:
        return state("decision", decision_id)

    @app.get("/v1/articles/{article_id}")
    def article(article_id: str) -> dict:
        return state("article", article_id)

    @app.get("/v1/documents/{document_id}")
    def document(document_id: str) -> dict:
        return state("document", document_id)

    @app.get("/v1/public/answers/{code}")
    def answer(code: str) -> dict:
        return state("ticket", code)

    @app.get("/v1/public/statistics")
    def statistics() -> dict:
        if "statistics" not in owner.documents:
            raise HTTPException(404, "no statistics")
        return owner.documents["statistics"]

    @app.post("/v1/sync/states")
    def states(body: dict) -> dict:
        out = []
        for ref in body["subjects"]:
            found = owner.states.get((ref["kind"], ref["id"]))
            if found is not None and found.get("_fail"):
                raise HTTPException(503, "owner overloaded")
            out.append({"kind": ref["kind"], "id": ref["id"], "state": found})
        return {"states": out}

    @app.get("/v1/sync/versions")
    def versions() -> dict:
        return {"subjects": [{"kind": k, "id": i, "version": v} for k, i, v in owner.versions()]}

    return app


@pytest.fixture
def owner_server(owner):
    """The owner API as a real HTTP server."""
    with serving(owner_api(owner)) as url:
        yield url
