"""API models. Input is strict: limits, patterns and enums make bad input a precise 422."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from content.domain import Category, EditorialState, PublicStatus, RelationKind
from content.storage import SHA256_PATTERN
from minhbach_shared import events
from minhbach_shared.text import nfc
from minhbach_shared.times import EnteredTime, VietnamTime

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$"
# e.g. 107/2021/NĐ-CP, 3373/QĐ-UBND, 76/NQ-CP
NUMBER_PATTERN = r"^[0-9A-Za-zÀ-ỹĐđ][0-9A-Za-zÀ-ỹĐđ./_-]{0,99}$"


def _nfc(value: Any) -> Any:
    return nfc(value) if isinstance(value, str) else value


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an entry")
    return values


# The before-validator sits last so it runs first: lengths count NFC characters.
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), BeforeValidator(_nfc)
]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), BeforeValidator(_nfc)]
Body = Annotated[str, StringConstraints(max_length=200_000), BeforeValidator(_nfc)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), BeforeValidator(_nfc)
]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=CODE_PATTERN)]
Sha256 = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=SHA256_PATTERN)]
DocNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=NUMBER_PATTERN), BeforeValidator(_nfc)
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), BeforeValidator(_nfc)]
Tags = Annotated[list[Tag], Field(max_length=30), AfterValidator(_unique)]
Codes = Annotated[list[Code], Field(max_length=50), AfterValidator(_unique)]
AttachmentIds = Annotated[list[Sha256], Field(max_length=50), AfterValidator(_unique)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Articles


class ArticleFields(Input):
    summary: Summary = ""
    body: Body = ""
    cover_image: Sha256 | None = Field(None, description="attachment id (sha256) of an image")
    tags: Tags = []
    procedure_codes: Codes = Field([], description="checked against the procedures API")
    attachments: AttachmentIds = []


class ArticleCreate(ArticleFields):
    category: Category
    title: Title


class ArticleUpdate(Input):
    """Only the fields given change; the rest are copied from the newest revision."""

    category: Category | None = None
    title: Title | None = None
    summary: Summary | None = None
    body: Body | None = None
    cover_image: Sha256 | None = None
    tags: Tags | None = None
    procedure_codes: Codes | None = None
    attachments: AttachmentIds | None = None

    @field_validator("category", "title", "summary", "body", "tags", "procedure_codes", "attachments")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out but not null")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, mode="json")


class PublishRequest(Input):
    """Times in Vietnam: naive ISO means Asia/Ho_Chi_Minh; an offset is honoured."""

    publish_at: EnteredTime | None = Field(None, description="go live at this time (default: now)")
    expire_at: EnteredTime | None = Field(None, description="come down at this time (default: never)")


class SendBackRequest(Input):
    comment: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), BeforeValidator(_nfc)
    ]


class AttachmentRead(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    url: str


class ArticleRead(BaseModel):
    """The public view: the live revision only."""

    id: int
    version: int
    status: PublicStatus
    category: Category
    title: str
    slug: str
    summary: str
    body_html: str
    cover_image_url: str | None
    tags: list[str]
    procedure_codes: list[str]
    attachments: list[AttachmentRead]
    publish_at: VietnamTime | None
    expire_at: VietnamTime | None
    published_at: VietnamTime | None
    updated_at: VietnamTime | None


class ArticlePage(BaseModel):
    items: list[ArticleRead]
    total: int
    page: int
    size: int


class ArticleContent(BaseModel):
    category: Category
    title: str
    summary: str
    body: str
    body_html: str
    cover_image: str | None
    tags: list[str]
    procedure_codes: list[str]
    attachments: list[str]


class ArticleEditorRead(BaseModel):
    """What editors and approvers see: the workflow and the newest revision."""

    id: int
    slug: str
    state: EditorialState
    public_status: PublicStatus | None
    version: int
    head: int
    head_author: str
    live_revision: int | None
    scheduled_revision: int | None
    review_comment: str | None
    allowed_actions: list[str]
    publish_at: VietnamTime | None
    expire_at: VietnamTime | None
    scheduled_expire_at: VietnamTime | None = Field(
        None, description="the expiry the scheduled revision brings when it goes live"
    )
    published_at: VietnamTime | None
    updated_at: VietnamTime | None
    content: ArticleContent


class DeskArticle(BaseModel):
    """One row of the staff's desk: the workflow and the newest revision's headline."""

    id: int
    slug: str
    state: EditorialState
    public_status: PublicStatus | None
    head: int
    head_author: str
    live_revision: int | None
    scheduled_revision: int | None
    category: Category
    title: str
    publish_at: VietnamTime | None
    expire_at: VietnamTime | None
    published_at: VietnamTime | None
    modified_at: VietnamTime


class DeskPage(BaseModel):
    items: list[DeskArticle]
    total: int
    page: int
    size: int


class PreviewRequest(Input):
    body: Body


class PreviewRead(BaseModel):
    body_html: str = Field(description="the body as the published article will show it (Markdown, then nh3)")


class RevisionRead(BaseModel):
    number: int
    author: str
    created_at: VietnamTime
    note: str
    live: bool
    content: ArticleContent


class RevisionList(BaseModel):
    article_id: int
    live_revision: int | None
    items: list[RevisionRead]


class RevisionDiff(BaseModel):
    article_id: int
    revision: int
    against: int
    against_kind: str = Field(description="live, or head when the article has never been live")
    changed_fields: list[str]
    diff: str = Field(description="unified diff (title, summary, body) from `against` to `revision`")


# Documents


class RelationCreate(Input):
    kind: RelationKind
    number: DocNumber


class DocumentCreate(Input):
    number: DocNumber
    type: Title
    issuer: Title
    signed_on: date
    effective_on: date | None = None
    title: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), BeforeValidator(_nfc)
    ]
    summary: Summary = ""
    attachment: Sha256 | None = None
    relations: Annotated[list[RelationCreate], Field(max_length=50)] = []
    procedure_codes: Codes = []


class DocumentCorrection(Input):
    """A correction of a filed document: only the fields given change.

    The number and the relations cannot change (other documents point at them): file
    the amending or replacing document instead.
    """

    type: Title | None = None
    issuer: Title | None = None
    signed_on: date | None = None
    effective_on: date | None = None
    title: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
            BeforeValidator(_nfc),
        ]
        | None
    ) = None
    summary: Summary | None = None
    attachment: Sha256 | None = None
    procedure_codes: Codes | None = None
    in_force: bool | None = Field(None, description="false: the document has left force")
    reason: Reason | None = Field(
        None, description="why it is corrected; kept in the document's history (not a field of the document)"
    )

    @model_validator(mode="after")
    def _something_and_no_nulls(self) -> DocumentCorrection:
        given = self.model_fields_set - {"reason"}
        if not given:
            raise ValueError("give at least one field to correct")
        nullable = {"effective_on", "attachment"}
        for name in sorted(given - nullable):
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields given (the reason is not one of them)."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set - {"reason"})}


class RelationRead(BaseModel):
    kind: str
    number: str
    document_id: int


class DocumentRead(BaseModel):
    id: int
    version: int
    number: str
    type: str
    issuer: str
    signed_on: date
    effective_on: date | None
    title: str
    summary: str
    attachment: AttachmentRead | None
    in_force: bool
    relations: list[RelationRead]
    related_by: list[RelationRead]
    procedure_codes: list[str]


class DocumentPage(BaseModel):
    items: list[DocumentRead]
    total: int
    page: int
    size: int


class FieldChange(BaseModel):
    before: Any
    after: Any


class CorrectionRead(BaseModel):
    version: int = Field(description="the document's version this correction made")
    corrected_by: str
    corrected_at: VietnamTime
    changes: dict[str, FieldChange] = Field(
        description="each field the correction changed, in the document's field order; dates as ISO"
    )
    reason: str | None


class DocumentHistory(BaseModel):
    document_id: int
    number: str
    version: int
    filed_by: str
    filed_at: VietnamTime
    items: list[CorrectionRead] = Field(description="the corrections, newest first")


# GET /v1/sync/versions: the contract's shape, the same for every owner.
SubjectVersion = events.SubjectVersion
SyncVersions = events.SyncVersions
