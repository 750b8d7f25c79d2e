"""Use cases. Each write is one transaction: `with uow: ...; uow.commit()`.

Procedure codes are checked against the procedures API before the transaction
starts, so no write lock is held across a network call.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from graphlib import CycleError, TopologicalSorter
from typing import Any, BinaryIO

from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from content import errors, repository, schemas
from content.domain import (
    CONTENT_FIELDS,
    DIFF_FIELDS,
    INVERSE_KIND,
    Article,
    BadSchedule,
    Content,
    Document,
    EditorialState,
    NothingToCorrect,
    PublicStatus,
    Relation,
    RelationKind,
    Revision,
    RuleBroken,
    SelfApproval,
    check_relations,
)
from content.markup import render_markdown
from content.storage import IMAGE_TYPES, AttachmentStore, Rejected, safe_filename
from content.uow import UnitOfWork
from minhbach_shared.celery import run_early_if_soon
from minhbach_shared.procedures_api import ProcedureRegister, ProceduresUnreachable
from minhbach_shared.text import slugify

log = logging.getLogger(__name__)

ATTACHMENT_URL = "/v1/attachments/{}"


def _not_allowed(exc: RuleBroken) -> errors.NotAllowed:
    return errors.NotAllowed(exc.message, exc.allowed)


def _load(uow: UnitOfWork, article_id: int) -> Article:
    article = uow.repo.get_article(article_id)
    if article is None:
        raise errors.ArticleNotFound(article_id)
    return article


def _check_attachments(uow: UnitOfWork, content: Content) -> None:
    """Every attachment id must be uploaded; the cover must be an image."""
    ids = list(content.get("attachments") or [])
    cover = content.get("cover_image")
    found = uow.repo.attachments_by_id([*ids, *([cover] if cover else [])])
    problems = [
        (f"attachments[{i}]", f"no attachment {sha}; upload it first")
        for i, sha in enumerate(ids)
        if sha not in found
    ]
    if cover:
        if cover not in found:
            problems.append(("cover_image", f"no attachment {cover}; upload it first"))
        elif found[cover].content_type not in IMAGE_TYPES:
            problems.append(("cover_image", "must be an image (PNG, JPEG, GIF or WebP), not a PDF"))
    if problems:
        raise errors.InvalidMany(problems)


def _check_codes(procedures: ProcedureRegister, codes: Sequence[str]) -> None:
    """Every linked code must be a procedure's: 422 naming each unknown one, 503 if none can be asked."""
    try:
        unknown = [(i, code) for i, code in enumerate(codes) if not procedures.exists(code)]
    except ProceduresUnreachable as exc:
        raise errors.ProceduresUnavailable(str(exc)) from None
    if unknown:
        raise errors.UnknownProcedures("procedure_codes", unknown)


def _content(values: dict[str, Any]) -> Content:
    content = {name: values.get(name) for name in CONTENT_FIELDS}
    body: str = values.get("body") or ""
    content["summary"] = content["summary"] or ""
    content["body"] = body
    for name in ("tags", "procedure_codes", "attachments"):
        content[name] = list(content[name] or [])
    content["body_html"] = render_markdown(body)
    return content


# Article writes


def create_article(
    uow: UnitOfWork, data: schemas.ArticleCreate, *, author: str, now: datetime, procedures: ProcedureRegister
) -> int:
    _check_codes(procedures, data.procedure_codes)
    content = _content(data.model_dump(mode="json"))
    with uow:
        _check_attachments(uow, content)
        slug = uow.repo.unique_slug(slugify(data.title))
        article = Article.create(slug=slug, content=content, author=author, now=now)
        uow.repo.add_article(article)
        uow.commit()
    assert article.id is not None
    return article.id


def update_article(
    uow: UnitOfWork,
    article_id: int,
    data: schemas.ArticleUpdate,
    *,
    author: str,
    now: datetime,
    procedures: ProcedureRegister,
) -> None:
    changes = data.changes()
    if "procedure_codes" in changes:
        _check_codes(procedures, changes["procedure_codes"])
    with uow:
        article = _load(uow, article_id)
        content = _content({**article.head_revision.content, **changes})
        _check_attachments(uow, content)
        try:
            article.edit(content, author=author, now=now)
        except RuleBroken as exc:
            raise _not_allowed(exc) from None
        uow.commit()


def restore_revision(
    uow: UnitOfWork,
    session: Session,
    article_id: int,
    number: int,
    *,
    author: str,
    now: datetime,
    procedures: ProcedureRegister,
) -> None:
    rows = repository.revision_rows(session, article_id, [number])
    if not rows:
        raise errors.RevisionNotFound(article_id, number)
    _check_codes(procedures, rows[0].content.get("procedure_codes") or [])
    with uow:
        article = _load(uow, article_id)
        revision = uow.repo.get_revision(article_id, number)
        assert revision is not None
        content = _content(revision.content)
        _check_attachments(uow, content)
        try:
            article.restore(revision, author=author, now=now)
        except RuleBroken as exc:
            raise _not_allowed(exc) from None
        uow.commit()


def _transition(uow: UnitOfWork, article_id: int, change: Callable[[Article], None]) -> Article:
    with uow:
        article = _load(uow, article_id)
        try:
            change(article)
        except RuleBroken as exc:
            raise _not_allowed(exc) from None
        uow.commit()
    return article


def submit(uow: UnitOfWork, article_id: int) -> None:
    _transition(uow, article_id, lambda a: a.submit())


def send_back(uow: UnitOfWork, article_id: int, comment: str) -> None:
    _transition(uow, article_id, lambda a: a.send_back(comment))


def archive(uow: UnitOfWork, article_id: int) -> None:
    _transition(uow, article_id, lambda a: a.archive())


def unpublish(uow: UnitOfWork, article_id: int, *, now: datetime) -> None:
    _transition(uow, article_id, lambda a: a.unpublish(now=now))


def publish(
    uow: UnitOfWork,
    article_id: int,
    data: schemas.PublishRequest,
    *,
    approver: str,
    now: datetime,
    schedule_apply: Callable[[float], None] | None = None,
) -> Article:
    """Approve the newest revision: live now, or at publish_at; expire_at takes it down.

    A change due within MAX_COUNTDOWN_S also gets a countdown task, so it happens
    on time rather than at the next beat; beat remains the safety net.
    """
    with uow:
        article = _load(uow, article_id)
        try:
            article.publish(approver=approver, now=now, publish_at=data.publish_at, expire_at=data.expire_at)
        except RuleBroken as exc:
            raise _not_allowed(exc) from None
        except SelfApproval as exc:
            raise errors.SelfApproval(str(exc)) from None
        except BadSchedule as exc:
            raise errors.Invalid(exc.field, exc.message) from None
        uow.commit()
    for at in (article.publish_at, article.expire_at):
        run_early_if_soon(schedule_apply, at, now=now, what="an article's schedule")
    return article


def apply_schedule(
    uow_factory: Callable[[], UnitOfWork],
    *,
    now: datetime,
    schedule_apply: Callable[[float], None] | None = None,
) -> int:
    """Publish due scheduled articles and expire old ones, each in its own transaction.

    With `schedule_apply`, the next change due within MAX_COUNTDOWN_S also gets a
    countdown task, so it happens on the second rather than at a later beat tick.
    """
    with uow_factory() as uow:
        due = uow.repo.due_article_ids(now)
        next_at = uow.repo.next_due_at(now)
    run_early_if_soon(schedule_apply, next_at, now=now, what="the next scheduled article change")
    changed = 0
    for article_id in due:
        with uow_factory() as uow:
            article = uow.repo.get_article(article_id)
            if article is None or not article.apply_due(now):
                continue  # another worker got there first
            uow.commit()
            changed += 1
            log.info("article schedule applied", extra={"article_id": article_id})
    return changed


# Article reads


def _attachment_read(row: Row[Any]) -> schemas.AttachmentRead:
    return schemas.AttachmentRead(
        id=row.sha256,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        url=ATTACHMENT_URL.format(row.sha256),
    )


# What the public API still tells of an article taken down (unpublished, expired): that
# it was, with its title and status so old links can say so, but none of what it said.
WITHDRAWN_FIELDS = ("summary", "body", "body_html", "cover_image", "attachments")


def _article_read(session: Session, row: Row[Any], content: Content) -> schemas.ArticleRead:
    if row.public_status != PublicStatus.PUBLISHED.value:
        content = {k: v for k, v in content.items() if k not in WITHDRAWN_FIELDS}
    found = repository.attachment_rows(session, content.get("attachments") or [])
    cover = content.get("cover_image")
    return schemas.ArticleRead(
        id=row.id,
        version=row.version,
        status=row.public_status,
        category=content["category"],
        title=content["title"],
        slug=row.slug,
        summary=content.get("summary") or "",
        body_html=content.get("body_html") or "",
        cover_image_url=ATTACHMENT_URL.format(cover) if cover else None,
        tags=content.get("tags") or [],
        procedure_codes=content.get("procedure_codes") or [],
        attachments=[_attachment_read(found[a]) for a in content.get("attachments") or [] if a in found],
        publish_at=row.publish_at,
        expire_at=row.expire_at,
        published_at=row.published_at,
        updated_at=row.updated_at,
    )


def get_article(session: Session, article_id: int) -> schemas.ArticleRead:
    """The live revision of an article that has ever been live (only its title and status
    once it was taken down); 404 otherwise."""
    row = repository.article_row(session, article_id)
    if row is None or row.version == 0 or row.live_revision is None:
        raise errors.ArticleNotFound(article_id)
    live = repository.revision_rows(session, article_id, [row.live_revision])[0]
    return _article_read(session, row, live.content)


def list_articles(
    session: Session,
    *,
    category: str | None,
    q: str | None,
    tag: str | None,
    procedure_code: str | None,
    page: int,
    size: int,
) -> schemas.ArticlePage:
    rows, total = repository.live_articles(
        session, category=category, q=q, tag=tag, procedure_code=procedure_code, page=page, size=size
    )
    return schemas.ArticlePage(
        items=[_article_read(session, r, r.content) for r in rows], total=total, page=page, size=size
    )


def get_article_for_editors(session: Session, article_id: int) -> schemas.ArticleEditorRead:
    row = repository.article_row(session, article_id)
    if row is None:
        raise errors.ArticleNotFound(article_id)
    head = repository.revision_rows(session, article_id, [row.head])[0]
    # The allowed actions come from the domain, so the view and the rules never disagree.
    article = _article_from_rows(row, head)
    return schemas.ArticleEditorRead(
        id=row.id,
        slug=row.slug,
        state=row.state,
        public_status=row.public_status,
        version=row.version,
        head=row.head,
        head_author=head.author,
        live_revision=row.live_revision,
        scheduled_revision=row.scheduled_revision,
        review_comment=row.review_comment,
        allowed_actions=[a.value for a in article.allowed_actions()],
        publish_at=row.publish_at,
        expire_at=row.expire_at,
        scheduled_expire_at=row.scheduled_expire_at,
        published_at=row.published_at,
        updated_at=row.updated_at,
        content=schemas.ArticleContent(**head.content),
    )


def _article_from_rows(row: Row[Any], head: Row[Any]) -> Article:
    return Article(
        id=row.id,
        slug=row.slug,
        state=EditorialState(row.state),
        head=row.head,
        revisions={head.number: Revision(head.number, head.author, head.created_at, head.content, head.note)},
        live_revision=row.live_revision,
        scheduled_revision=row.scheduled_revision,
        public_status=PublicStatus(row.public_status) if row.public_status else None,
        version=row.version,
    )


def desk_articles(
    session: Session,
    *,
    state: str | None,
    scheduled: bool | None,
    category: str | None,
    q: str | None,
    page: int,
    size: int,
) -> schemas.DeskPage:
    rows, total = repository.desk_articles(
        session, state=state, scheduled=scheduled, category=category, q=q, page=page, size=size
    )
    return schemas.DeskPage(
        items=[
            schemas.DeskArticle(
                id=r.id,
                slug=r.slug,
                state=r.state,
                public_status=r.public_status,
                head=r.head,
                head_author=r.head_author,
                live_revision=r.live_revision,
                scheduled_revision=r.scheduled_revision,
                category=r.content["category"],
                title=r.content["title"],
                publish_at=r.publish_at,
                expire_at=r.expire_at,
                published_at=r.published_at,
                modified_at=r.modified_at,
            )
            for r in rows
        ],
        total=total,
        page=page,
        size=size,
    )


def preview_body(body: str) -> schemas.PreviewRead:
    """The body as a saved revision stores it and the public API serves it: the same function."""
    return schemas.PreviewRead(body_html=render_markdown(body))


def list_revisions(session: Session, article_id: int) -> schemas.RevisionList:
    row = repository.article_row(session, article_id)
    if row is None:
        raise errors.ArticleNotFound(article_id)
    return schemas.RevisionList(
        article_id=article_id,
        live_revision=row.live_revision,
        items=[
            schemas.RevisionRead(
                number=r.number,
                author=r.author,
                created_at=r.created_at,
                note=r.note,
                live=r.number == row.live_revision and row.public_status == "published",
                content=schemas.ArticleContent(**r.content),
            )
            for r in repository.revision_rows(session, article_id)
        ],
    )


def diff_revision(session: Session, article_id: int, number: int) -> schemas.RevisionDiff:
    """Revision `number` compared with the live one (or the newest, if never live)."""
    row = repository.article_row(session, article_id)
    if row is None:
        raise errors.ArticleNotFound(article_id)
    against, kind = (row.live_revision, "live") if row.live_revision else (row.head, "head")
    found = {r.number: r for r in repository.revision_rows(session, article_id, {number, against})}
    if number not in found:
        raise errors.RevisionNotFound(article_id, number)
    old, new = found[against].content, found[number].content
    lines: list[str] = []
    changed: list[str] = []
    for name in DIFF_FIELDS:
        a, b = (
            (old.get(name) or "").splitlines(keepends=True),
            (new.get(name) or "").splitlines(keepends=True),
        )
        chunk = list(
            difflib.unified_diff(a, b, fromfile=f"{name}@{against}", tofile=f"{name}@{number}", lineterm="\n")
        )
        if chunk:
            changed.append(name)
            lines += [line if line.endswith("\n") else line + "\n" for line in chunk]
    for name in ("category", "cover_image", "tags", "procedure_codes", "attachments"):
        if old.get(name) != new.get(name):
            changed.append(name)
    return schemas.RevisionDiff(
        article_id=article_id,
        revision=number,
        against=against,
        against_kind=kind,
        changed_fields=changed,
        diff="".join(lines),
    )


# Attachments


def upload_attachment(
    uow: UnitOfWork, store: AttachmentStore, source: BinaryIO, *, filename: str | None, by: str
) -> schemas.AttachmentRead:
    try:
        stored = store.save(source)
    except Rejected as exc:
        raise errors.AttachmentRejected(exc.reason) from None
    name = safe_filename(filename, stored.content_type)
    try:
        with uow:
            uow.repo.add_attachment(
                sha256=stored.sha256, filename=name, content_type=stored.content_type, size=stored.size, by=by
            )
            uow.commit()
            row = uow.repo.attachments_by_id([stored.sha256])[stored.sha256]
    except BaseException:
        store.discard(stored)
        raise
    return _attachment_read(row)


def get_attachment(session: Session, sha256: str) -> Row[Any]:
    row = repository.attachment_row(session, sha256)
    if row is None:
        raise errors.AttachmentNotFound(sha256)
    return row


# Documents


def create_document(
    uow: UnitOfWork, data: schemas.DocumentCreate, *, by: str, procedures: ProcedureRegister
) -> int:
    """Publish a document now; the documents it amends or replaces get a new version too."""
    _check_codes(procedures, data.procedure_codes)
    with uow:
        document = _add_document(uow, data, by=by)
        uow.commit()
    assert document.id is not None
    return document.id


def correct_document(
    uow: UnitOfWork,
    document_id: int,
    data: schemas.DocumentCorrection,
    *,
    by: str,
    now: datetime,
    procedures: ProcedureRegister,
) -> None:
    """Correct a filed document: a new version and document.published, so every page
    follows, and the correction (who, when, each changed field's previous value) in its
    history, all in one commit. A correction that changes nothing is refused (422)."""
    changes = data.changes()
    if changes.get("procedure_codes"):
        _check_codes(procedures, changes["procedure_codes"])
    with uow:
        document = uow.repo.get_document(document_id)
        if document is None:
            raise errors.DocumentNotFound(str(document_id))
        attachment = changes.get("attachment")
        if attachment and not uow.repo.attachments_by_id([attachment]):
            raise errors.Invalid("attachment", f"no attachment {attachment}; upload it first")
        try:
            document.correct(changes, by=by, now=now, reason=data.reason)
        except NothingToCorrect as exc:
            raise errors.InvalidMany(
                [(name, "unchanged: it already has this value; nothing to correct") for name in exc.fields]
            ) from None
        uow.commit()


def _add_document(uow: UnitOfWork, data: schemas.DocumentCreate, *, by: str) -> Document:
    wanted = [(r.kind, r.number) for r in data.relations]
    if problems := check_relations(data.number, wanted):
        raise errors.InvalidMany(problems)
    if uow.repo.document_exists(data.number):
        raise errors.DocumentExists(data.number)
    if data.attachment and not uow.repo.attachments_by_id([data.attachment]):
        raise errors.Invalid("attachment", f"no attachment {data.attachment}; upload it first")
    targets = uow.repo.documents_by_number([n for _, n in wanted])
    missing = [
        (f"relations[{i}].number", f"no document {n}; file it first")
        for i, (_, n) in enumerate(wanted)
        if n not in targets
    ]
    if missing:
        raise errors.InvalidMany(missing)
    relations = [Relation(kind, targets[n].id or 0, n) for kind, n in wanted]
    document = Document.publish_new(data.number, data.model_dump(exclude={"number", "relations"}), relations)
    uow.repo.add_document(document, created_by=by)
    document.announce()
    for kind, n in wanted:
        targets[n].affected_by(kind)
    return document


def _document_reads(session: Session, rows: Sequence[Row[Any]]) -> list[schemas.DocumentRead]:
    ids = [r.id for r in rows]
    outgoing, incoming = repository.relation_rows(session, ids)
    found = repository.attachment_rows(session, [r.attachment for r in rows if r.attachment])
    reads = []
    for r in rows:
        reads.append(
            schemas.DocumentRead(
                id=r.id,
                version=r.version,
                number=r.number,
                type=r.type,
                issuer=r.issuer,
                signed_on=r.signed_on,
                effective_on=r.effective_on,
                title=r.title,
                summary=r.summary,
                attachment=_attachment_read(found[r.attachment]) if r.attachment in found else None,
                in_force=r.in_force,
                relations=[
                    schemas.RelationRead(kind=o.kind, number=o.number, document_id=o.target_id)
                    for o in outgoing
                    if o.source_id == r.id
                ],
                related_by=[
                    schemas.RelationRead(
                        kind=INVERSE_KIND[RelationKind(i.kind)], number=i.number, document_id=i.source_id
                    )
                    for i in incoming
                    if i.target_id == r.id
                ],
                procedure_codes=r.procedure_codes or [],
            )
        )
    return reads


def get_document(session: Session, document_id: int) -> schemas.DocumentRead:
    row = repository.document_row(session, document_id)
    if row is None:
        raise errors.DocumentNotFound(str(document_id))
    return _document_reads(session, [row])[0]


def list_documents(
    session: Session, *, q: str | None, type_: str | None, page: int, size: int
) -> schemas.DocumentPage:
    rows, total = repository.document_rows(session, q=q, type_=type_, page=page, size=size)
    return schemas.DocumentPage(items=_document_reads(session, rows), total=total, page=page, size=size)


def document_history(session: Session, document_id: int) -> schemas.DocumentHistory:
    """Who filed the document, and every correction since, newest first (staff only)."""
    row = repository.document_row(session, document_id)
    if row is None:
        raise errors.DocumentNotFound(str(document_id))
    return schemas.DocumentHistory(
        document_id=row.id,
        number=row.number,
        version=row.version,
        filed_by=row.created_by,
        filed_at=row.created_at,
        items=[
            schemas.CorrectionRead(
                version=c.version,
                corrected_by=c.corrected_by,
                corrected_at=c.corrected_at,
                changes={name: schemas.FieldChange(**change) for name, change in c.changes.items()},
                reason=c.reason,
            )
            for c in repository.correction_rows(session, document_id)
        ],
    )


def load_demo_documents(uow: UnitOfWork, payload: dict[str, Any], *, procedures: ProcedureRegister) -> int:
    """Publish the demo documents into an empty database in one transaction, targets first."""
    items = {d["number"]: schemas.DocumentCreate.model_validate(d) for d in payload["documents"]}
    graph = {n: [r.number for r in d.relations if r.number in items] for n, d in items.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise ValueError(f"demo documents relate in a cycle: {exc.args[1]}") from None
    for item in items.values():
        _check_codes(procedures, item.procedure_codes)
    with uow:
        if uow.repo.has_documents():
            return 0
        for number in order:
            _add_document(uow, items[number], by="demo")
        uow.commit()
    return len(order)


# Sync


def sync_versions(session: Session) -> schemas.SyncVersions:
    return schemas.SyncVersions(
        subjects=[
            schemas.SubjectVersion(kind=kind, id=id_, version=version)
            for kind, id_, version in repository.subject_versions(session)
        ]
    )
