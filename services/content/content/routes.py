"""HTTP endpoints: parse, call a use case, return a schema."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile, status
from fastapi.responses import FileResponse
from sqlalchemy import Engine

from content import schemas, services
from content.domain import Category, EditorialState
from content.storage import SHA256_PATTERN, AttachmentStore
from content.uow import UnitOfWork
from minhbach_shared.auth import Principal, Role, require_roles
from minhbach_shared.guard import GuardedRoute
from minhbach_shared.http import NotFound, PageQuery, ReadSession, RowId, SizeQuery
from minhbach_shared.procedures_api import ProceduresApi

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """What the routes need, built once in create_app."""

    engine: Engine
    wake: Callable[[], None]
    store: AttachmentStore
    procedures: ProceduresApi
    schedule_apply: Any

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.wake)


def _context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


Ctx = Annotated[Context, Depends(_context)]
Editor = Annotated[Principal, require_roles(Role.EDITOR)]
Approver = Annotated[Principal, require_roles(Role.APPROVER)]
Staff = Annotated[Principal, require_roles(Role.EDITOR, Role.APPROVER)]
ArticleId = RowId
DocumentId = RowId
RevisionNo = RowId
TextQuery = Annotated[str | None, Query(max_length=200)]

router = APIRouter(prefix="/v1", route_class=GuardedRoute)
# Where uploads arrive (the app's UploadSizeLimit refuses an oversize one before reading it).
ATTACHMENTS_PATH = "/v1/attachments"


def _now() -> datetime:
    return datetime.now(UTC)


# Articles: editors and approvers


@router.post(
    "/articles",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ArticleEditorRead,
    tags=["articles"],
)
def create_article(
    body: schemas.ArticleCreate, ctx: Ctx, session: ReadSession, who: Editor
) -> schemas.ArticleEditorRead:
    article_id = services.create_article(
        ctx.uow(), body, author=who.subject, now=_now(), procedures=ctx.procedures
    )
    return services.get_article_for_editors(session, article_id)


@router.post("/articles/preview", response_model=schemas.PreviewRead, tags=["articles"])
def preview_article(body: schemas.PreviewRequest, _: Staff) -> schemas.PreviewRead:
    """A Markdown body rendered and sanitised exactly as a saved revision is; nothing stored."""
    return services.preview_body(body.body)


@router.get("/desk/articles", response_model=schemas.DeskPage, tags=["articles"])
def desk_articles(
    session: ReadSession,
    _: Staff,
    state: EditorialState | None = None,
    scheduled: bool | None = None,
    category: Category | None = None,
    q: TextQuery = None,
    page: PageQuery = 1,
    size: SizeQuery = 20,
) -> schemas.DeskPage:
    """Every article in any state, last changed first (staff): `scheduled` true for those with
    a revision approved for a later time, false for the others."""
    return services.desk_articles(
        session,
        state=state.value if state else None,
        scheduled=scheduled,
        category=category.value if category else None,
        q=q,
        page=page,
        size=size,
    )


@router.patch("/articles/{article_id}", response_model=schemas.ArticleEditorRead, tags=["articles"])
def update_article(
    article_id: ArticleId, body: schemas.ArticleUpdate, ctx: Ctx, session: ReadSession, who: Editor
) -> schemas.ArticleEditorRead:
    services.update_article(
        ctx.uow(), article_id, body, author=who.subject, now=_now(), procedures=ctx.procedures
    )
    return services.get_article_for_editors(session, article_id)


@router.get("/articles/{article_id}/draft", response_model=schemas.ArticleEditorRead, tags=["articles"])
def get_article_for_editors(
    article_id: ArticleId, session: ReadSession, _: Staff
) -> schemas.ArticleEditorRead:
    return services.get_article_for_editors(session, article_id)


@router.post("/articles/{article_id}/submit", response_model=schemas.ArticleEditorRead, tags=["articles"])
def submit_article(
    article_id: ArticleId, ctx: Ctx, session: ReadSession, _: Editor
) -> schemas.ArticleEditorRead:
    services.submit(ctx.uow(), article_id)
    return services.get_article_for_editors(session, article_id)


@router.post("/articles/{article_id}/publish", response_model=schemas.ArticleEditorRead, tags=["articles"])
def publish_article(
    article_id: ArticleId,
    ctx: Ctx,
    session: ReadSession,
    who: Approver,
    body: schemas.PublishRequest | None = None,
) -> schemas.ArticleEditorRead:
    services.publish(
        ctx.uow(),
        article_id,
        body or schemas.PublishRequest(),
        approver=who.subject,
        now=_now(),
        schedule_apply=ctx.schedule_apply,
    )
    return services.get_article_for_editors(session, article_id)


@router.post("/articles/{article_id}/send-back", response_model=schemas.ArticleEditorRead, tags=["articles"])
def send_back_article(
    article_id: ArticleId, body: schemas.SendBackRequest, ctx: Ctx, session: ReadSession, _: Approver
) -> schemas.ArticleEditorRead:
    services.send_back(ctx.uow(), article_id, body.comment)
    return services.get_article_for_editors(session, article_id)


@router.post("/articles/{article_id}/unpublish", response_model=schemas.ArticleEditorRead, tags=["articles"])
def unpublish_article(
    article_id: ArticleId, ctx: Ctx, session: ReadSession, _: Approver
) -> schemas.ArticleEditorRead:
    services.unpublish(ctx.uow(), article_id, now=_now())
    return services.get_article_for_editors(session, article_id)


@router.post("/articles/{article_id}/archive", response_model=schemas.ArticleEditorRead, tags=["articles"])
def archive_article(
    article_id: ArticleId, ctx: Ctx, session: ReadSession, _: Approver
) -> schemas.ArticleEditorRead:
    services.archive(ctx.uow(), article_id)
    return services.get_article_for_editors(session, article_id)


@router.get("/articles/{article_id}/revisions", response_model=schemas.RevisionList, tags=["articles"])
def list_revisions(article_id: ArticleId, session: ReadSession, _: Staff) -> schemas.RevisionList:
    return services.list_revisions(session, article_id)


@router.get(
    "/articles/{article_id}/revisions/{number}/diff", response_model=schemas.RevisionDiff, tags=["articles"]
)
def diff_revision(
    article_id: ArticleId, number: RevisionNo, session: ReadSession, _: Staff
) -> schemas.RevisionDiff:
    return services.diff_revision(session, article_id, number)


@router.post(
    "/articles/{article_id}/revisions/{number}/restore",
    response_model=schemas.ArticleEditorRead,
    tags=["articles"],
)
def restore_revision(
    article_id: ArticleId, number: RevisionNo, ctx: Ctx, session: ReadSession, who: Editor
) -> schemas.ArticleEditorRead:
    services.restore_revision(
        ctx.uow(),
        session,
        article_id,
        number,
        author=who.subject,
        now=_now(),
        procedures=ctx.procedures,
    )
    session.rollback()  # see the restore's commit, not the snapshot read before it
    return services.get_article_for_editors(session, article_id)


# Articles: public


@router.get("/articles", response_model=schemas.ArticlePage, tags=["articles"])
def list_articles(
    session: ReadSession,
    category: Category | None = None,
    q: TextQuery = None,
    tag: Annotated[str | None, Query(max_length=60)] = None,
    procedure_code: Annotated[str | None, Query(max_length=50)] = None,
    page: PageQuery = 1,
    size: SizeQuery = 20,
) -> schemas.ArticlePage:
    return services.list_articles(
        session,
        category=category.value if category else None,
        q=q,
        tag=tag,
        procedure_code=procedure_code,
        page=page,
        size=size,
    )


@router.get("/articles/{article_id}", response_model=schemas.ArticleRead, tags=["articles"])
def get_article(article_id: ArticleId, session: ReadSession) -> schemas.ArticleRead:
    return services.get_article(session, article_id)


# Attachments


@router.post(
    ATTACHMENTS_PATH.removeprefix("/v1"),
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.AttachmentRead,
    tags=["attachments"],
)
def upload_attachment(
    ctx: Ctx,
    who: Editor,
    file: Annotated[UploadFile, File(description="PNG, JPEG, GIF, WebP or PDF; type read from content")],
) -> schemas.AttachmentRead:
    return services.upload_attachment(ctx.uow(), ctx.store, file.file, filename=file.filename, by=who.subject)


@router.get("/attachments/{sha256}", tags=["attachments"], response_class=FileResponse)
def get_attachment(
    sha256: Annotated[str, Path(pattern=SHA256_PATTERN)], ctx: Ctx, session: ReadSession
) -> FileResponse:
    row = services.get_attachment(session, sha256)
    path = ctx.store.path_for(row.sha256)
    if not path.is_file():
        # Known, but its file is gone from the disk (a volume lost or not restored): the
        # public gets a 404, the operator an error line (restore the attachments).
        log.error("attachment file missing", extra={"sha256": row.sha256})
        raise NotFound("no file for this attachment", [{"field": "sha256", "message": "file missing"}])
    return FileResponse(
        path,
        media_type=row.content_type,
        headers={
            "Content-Disposition": content_disposition(row.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=31536000, immutable",
            "ETag": f'"{row.sha256}"',
        },
    )


def content_disposition(filename: str) -> str:
    """inline, with an ASCII fallback and the real (Vietnamese) name per RFC 5987/6266."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# Documents


@router.post(
    "/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.DocumentRead,
    tags=["documents"],
)
def create_document(
    body: schemas.DocumentCreate, ctx: Ctx, session: ReadSession, who: Editor
) -> schemas.DocumentRead:
    document_id = services.create_document(ctx.uow(), body, by=who.subject, procedures=ctx.procedures)
    return services.get_document(session, document_id)


@router.patch("/documents/{document_id}", response_model=schemas.DocumentRead, tags=["documents"])
def correct_document(
    document_id: DocumentId, body: schemas.DocumentCorrection, ctx: Ctx, session: ReadSession, who: Editor
) -> schemas.DocumentRead:
    services.correct_document(
        ctx.uow(), document_id, body, by=who.subject, now=_now(), procedures=ctx.procedures
    )
    return services.get_document(session, document_id)


@router.get("/documents/{document_id}/history", response_model=schemas.DocumentHistory, tags=["documents"])
def document_history(document_id: DocumentId, session: ReadSession, _: Staff) -> schemas.DocumentHistory:
    """Who filed it and each correction since, newest first: who, when, the version it made,
    each changed field's value before and after, and the reason (editors and approvers)."""
    return services.document_history(session, document_id)


@router.get("/documents", response_model=schemas.DocumentPage, tags=["documents"])
def list_documents(
    session: ReadSession,
    q: TextQuery = None,
    type: Annotated[str | None, Query(max_length=100)] = None,
    page: PageQuery = 1,
    size: SizeQuery = 20,
) -> schemas.DocumentPage:
    return services.list_documents(session, q=q, type_=type, page=page, size=size)


@router.get("/documents/{document_id}", response_model=schemas.DocumentRead, tags=["documents"])
def get_document(document_id: DocumentId, session: ReadSession) -> schemas.DocumentRead:
    return services.get_document(session, document_id)


@router.get("/sync/versions", response_model=schemas.SyncVersions, tags=["sync"])
def sync_versions(session: ReadSession) -> schemas.SyncVersions:
    return services.sync_versions(session)
