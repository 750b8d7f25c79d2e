"""Articles and documents: the editorial workflow, the schedule, and the events they record.

An article has an editorial state (what its newest revision is doing) and a public
status (what the public sees). They are separate so that a published revision stays
live while the next one is written and reviewed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from minhbach_shared.events import Envelope, EventType, Subject, SubjectKind

SOURCE = "content"

Content = dict[str, Any]

# The fields of a revision; a save is always the full set (a PATCH merges first).
CONTENT_FIELDS = (
    "category",
    "title",
    "summary",
    "body",
    "body_html",
    "cover_image",
    "tags",
    "procedure_codes",
    "attachments",
)
DIFF_FIELDS = ("title", "summary", "body")


class Category(StrEnum):
    NEWS = "news"
    INITIATIVES = "initiatives"
    PLANS_REPORTS = "plans_reports"
    PROPAGANDA = "propaganda"


class EditorialState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"
    ARCHIVED = "archived"


class PublicStatus(StrEnum):
    PUBLISHED = "published"
    SCHEDULED = "scheduled"
    UNPUBLISHED = "unpublished"
    EXPIRED = "expired"


class ArticleAction(StrEnum):
    EDIT = "edit"
    RESTORE = "restore"
    SUBMIT = "submit"
    PUBLISH = "publish"
    SEND_BACK = "send_back"
    UNPUBLISH = "unpublish"
    ARCHIVE = "archive"


class RelationKind(StrEnum):
    AMENDS = "amends"
    REPLACES = "replaces"


INVERSE_KIND = {RelationKind.AMENDS: "amended_by", RelationKind.REPLACES: "replaced_by"}


class RuleBroken(Exception):
    """An operation the current state does not allow (mapped to 409)."""

    def __init__(self, message: str, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.allowed = allowed or []


class SelfApproval(Exception):
    """The approver wrote the revision they are asked to approve (mapped to 403)."""


class BadSchedule(Exception):
    """publish_at / expire_at that cannot work (mapped to 422); `field` names the culprit."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Revision:
    """One save of an article: who, when, and the full content."""

    number: int
    author: str
    created_at: datetime
    content: Content
    note: str = ""


@dataclass
class Article:
    slug: str
    state: EditorialState
    head: int
    revisions: dict[int, Revision]
    id: int | None = None
    live_revision: int | None = None
    scheduled_revision: int | None = None
    public_status: PublicStatus | None = None
    version: int = 0
    # When the scheduled revision goes live, and the expiry it brings with it; expire_at
    # is the live revision's own (a revision scheduled later never changes it).
    publish_at: datetime | None = None
    expire_at: datetime | None = None
    scheduled_expire_at: datetime | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    review_comment: str | None = None
    events: list[Envelope] = field(default_factory=list, repr=False)
    new_revisions: list[Revision] = field(default_factory=list, repr=False)

    @classmethod
    def create(cls, *, slug: str, content: Content, author: str, now: datetime) -> Article:
        first = Revision(number=1, author=author, created_at=now, content=dict(content), note="created")
        return cls(
            slug=slug,
            state=EditorialState.DRAFT,
            head=1,
            revisions={1: first},
            new_revisions=[first],
        )

    # What the state allows

    @property
    def is_live(self) -> bool:
        return self.public_status is PublicStatus.PUBLISHED

    @property
    def head_revision(self) -> Revision:
        return self.revisions[self.head]

    def allowed_actions(self) -> list[ArticleAction]:
        allowed: list[ArticleAction] = []
        if self.state in (EditorialState.DRAFT, EditorialState.PUBLISHED, EditorialState.UNPUBLISHED):
            allowed += [ArticleAction.EDIT, ArticleAction.RESTORE]
        if self.state is EditorialState.DRAFT:
            allowed.append(ArticleAction.SUBMIT)
        if self.state in (EditorialState.IN_REVIEW, EditorialState.UNPUBLISHED):
            allowed.append(ArticleAction.PUBLISH)
        if self.state is EditorialState.IN_REVIEW:
            allowed.append(ArticleAction.SEND_BACK)
        if self.is_live or self.scheduled_revision is not None:
            allowed.append(ArticleAction.UNPUBLISH)
        elif self.state in (EditorialState.DRAFT, EditorialState.UNPUBLISHED):
            allowed.append(ArticleAction.ARCHIVE)
        return allowed

    def _require(self, action: ArticleAction) -> None:
        allowed = self.allowed_actions()
        if action not in allowed:
            names = ", ".join(a.value for a in allowed) or "nothing"
            raise RuleBroken(
                f"cannot {action.value.replace('_', ' ')} article {self.id}: it is {self._describe()}; "
                f"allowed now: {names}",
                [a.value for a in allowed],
            )

    def _describe(self) -> str:
        state = self.state.value.replace("_", " ")
        if self.public_status is not None and self.public_status.value != self.state.value:
            return f"{state} (public: {self.public_status.value})"
        return state

    # Editing

    def edit(self, changes: Mapping[str, Any], *, author: str, now: datetime) -> Revision:
        """Save a new revision: the head's content with `changes` applied."""
        self._require(ArticleAction.EDIT)
        return self._save({**self.head_revision.content, **changes}, author=author, now=now, note="edited")

    def restore(self, revision: Revision, *, author: str, now: datetime) -> Revision:
        """Make an old revision's content the new working draft."""
        self._require(ArticleAction.RESTORE)
        return self._save(
            dict(revision.content), author=author, now=now, note=f"restored from revision {revision.number}"
        )

    def _save(self, content: Content, *, author: str, now: datetime, note: str) -> Revision:
        revision = Revision(number=self.head + 1, author=author, created_at=now, content=content, note=note)
        self.revisions[revision.number] = revision
        self.new_revisions.append(revision)
        self.head = revision.number
        self.state = EditorialState.DRAFT
        return revision

    # Review

    def submit(self) -> None:
        self._require(ArticleAction.SUBMIT)
        self.state = EditorialState.IN_REVIEW
        self.review_comment = None

    def send_back(self, comment: str) -> None:
        self._require(ArticleAction.SEND_BACK)
        self.state = EditorialState.DRAFT
        self.review_comment = comment

    def publish(
        self,
        *,
        approver: str,
        now: datetime,
        publish_at: datetime | None = None,
        expire_at: datetime | None = None,
    ) -> None:
        """Approve the head revision: live now, or at publish_at (the live one stays until then)."""
        self._require(ArticleAction.PUBLISH)
        author = self.head_revision.author
        if author == approver:
            raise SelfApproval(
                f"you wrote the last revision ({self.head}) of article {self.id}; "
                "another approver must approve it"
            )
        starts = publish_at if publish_at is not None and publish_at > now else now
        if expire_at is not None and expire_at <= starts:
            raise BadSchedule("expire_at", "expire_at must be later than publish_at and than now")
        self.state = EditorialState.PUBLISHED
        self.review_comment = None
        self.publish_at = starts
        if starts > now:
            # The live revision (if any) stays as it is, with its own expiry, until then.
            self.scheduled_revision = self.head
            self.scheduled_expire_at = expire_at
            if not self.is_live:
                self.public_status = PublicStatus.SCHEDULED
        else:
            self.scheduled_expire_at = expire_at
            self._go_live(self.head, now)

    def unpublish(self, *, now: datetime) -> None:
        self._require(ArticleAction.UNPUBLISH)
        self.scheduled_revision = None
        self.scheduled_expire_at = None
        if self.state is EditorialState.PUBLISHED:
            self.state = EditorialState.UNPUBLISHED
        self._take_down(PublicStatus.UNPUBLISHED, now)

    def archive(self) -> None:
        self._require(ArticleAction.ARCHIVE)
        self.state = EditorialState.ARCHIVED

    # The schedule

    def publish_due(self, now: datetime) -> bool:
        return self.scheduled_revision is not None and self.publish_at is not None and self.publish_at <= now

    def expiry_due(self, now: datetime) -> bool:
        return self.is_live and self.expire_at is not None and self.expire_at <= now

    def apply_due(self, now: datetime) -> bool:
        """Go live at publish_at and come down at expire_at; True if anything changed."""
        changed = False
        if self.publish_due(now):
            assert self.scheduled_revision is not None
            self._go_live(self.scheduled_revision, now)
            changed = True
        if self.expiry_due(now):
            self._take_down(PublicStatus.EXPIRED, now)
            # A newer revision still scheduled keeps the article published, editorially.
            if self.state is EditorialState.PUBLISHED and self.scheduled_revision is None:
                self.state = EditorialState.UNPUBLISHED
            changed = True
        return changed

    def _go_live(self, revision: int, now: datetime) -> None:
        was_live = self.is_live
        self.live_revision = revision
        self.scheduled_revision = None
        self.expire_at, self.scheduled_expire_at = self.scheduled_expire_at, None
        self.public_status = PublicStatus.PUBLISHED
        self.published_at = self.published_at or now
        self.updated_at = now
        self._record(EventType.ARTICLE_UPDATED if was_live else EventType.ARTICLE_PUBLISHED)

    def _take_down(self, status: PublicStatus, now: datetime) -> None:
        was_live = self.is_live
        if self.public_status is not None:
            # A never-live article whose schedule is cancelled stays invisible.
            self.public_status = status if self.version > 0 else None
        if was_live:
            self.updated_at = now
            self._record(EventType.ARTICLE_UNPUBLISHED)

    def _record(self, event_type: EventType) -> None:
        self.version += 1
        live = self.revisions[self.live_revision].content if self.live_revision else {}
        self.events.append(
            Envelope(
                type=event_type,
                source=SOURCE,
                subject=Subject(kind=SubjectKind.ARTICLE, id=str(self.id)),
                version=self.version,
                data={
                    "category": live.get("category"),
                    "title": live.get("title"),
                    "slug": self.slug,
                    "status": self.public_status.value if self.public_status else None,
                    "procedure_codes": list(live.get("procedure_codes") or []),
                },
            )
        )


@dataclass(frozen=True)
class Relation:
    kind: RelationKind
    target_id: int
    target_number: str


# What a correction may change, in the order a history shows them. The number and the
# relations are not among them: other documents point at them.
CORRECTABLE_FIELDS = (
    "type",
    "issuer",
    "signed_on",
    "effective_on",
    "title",
    "summary",
    "attachment",
    "procedure_codes",
    "in_force",
)


class NothingToCorrect(Exception):
    """A correction whose every field already has the value given (mapped to 422, naming them)."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(f"nothing to correct: {', '.join(fields)} already have the values given")
        self.fields = fields


def _plain(value: Any) -> Any:
    """A field's value as the history stores it (JSON): dates as ISO, lists copied."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


@dataclass(frozen=True)
class Correction:
    """One correction of a filing: who, when, the version it made, and for each field it
    changed the value before and after."""

    version: int
    corrected_by: str
    corrected_at: datetime
    changes: dict[str, dict[str, Any]]
    reason: str | None = None


def differences(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"before", "after"}} for each wanted field whose value differs from the
    current one, in CORRECTABLE_FIELDS' order; values as the history stores them."""
    found: dict[str, dict[str, Any]] = {}
    for name in CORRECTABLE_FIELDS:
        if name not in wanted:
            continue
        before, after = _plain(current.get(name)), _plain(wanted[name])
        if before != after:
            found[name] = {"before": before, "after": after}
    return found


@dataclass
class Document:
    """A legal or directive document: published on creation; later documents amend or
    replace it, and an editor may correct its filing (each correction kept, with the
    previous values)."""

    number: str
    fields: Content
    relations: list[Relation] = field(default_factory=list)
    id: int | None = None
    version: int = 0
    in_force: bool = True
    events: list[Envelope] = field(default_factory=list, repr=False)
    corrected: Content = field(default_factory=dict, repr=False)  # fields to write back
    new_corrections: list[Correction] = field(default_factory=list, repr=False)

    @classmethod
    def publish_new(cls, number: str, fields: Content, relations: list[Relation]) -> Document:
        document = cls(number=number, fields=dict(fields), relations=list(relations))
        return document

    def announce(self) -> None:
        """Record document.published for this document's current state (needs its id)."""
        self.version += 1
        self.events.append(
            Envelope(
                type=EventType.DOCUMENT_PUBLISHED,
                source=SOURCE,
                subject=Subject(kind=SubjectKind.DOCUMENT, id=str(self.id)),
                version=self.version,
                data={
                    "number": self.number,
                    "type": self.fields.get("type"),
                    "title": self.fields.get("title"),
                    "in_force": self.in_force,
                },
            )
        )

    def correct(
        self, changes: Mapping[str, Any], *, by: str, now: datetime, reason: str | None = None
    ) -> Correction:
        """An editor's correction of the filing (a typo, the scan, its in-force status):
        only the fields whose value differs change, and the correction keeps their
        previous values. Nothing differs: NothingToCorrect, and nothing changes.

        The number and the relations stay: they are what other documents point at.
        """
        unknown = sorted(set(changes) - set(CORRECTABLE_FIELDS))
        if unknown:
            raise ValueError(f"not correctable: {', '.join(unknown)}")
        diff = differences({**self.fields, "in_force": self.in_force}, changes)
        if not diff:
            raise NothingToCorrect(sorted(changes, key=CORRECTABLE_FIELDS.index))
        if "in_force" in diff:
            self.in_force = bool(changes["in_force"])
        corrected = {k: changes[k] for k in diff if k != "in_force"}
        self.fields.update(corrected)
        self.corrected.update(corrected)
        self.announce()
        correction = Correction(
            version=self.version, corrected_by=by, corrected_at=now, changes=diff, reason=reason or None
        )
        self.new_corrections.append(correction)
        return correction

    def affected_by(self, kind: RelationKind) -> None:
        """Another document amends or replaces this one: its page changes, so a new version."""
        if kind is RelationKind.REPLACES:
            self.in_force = False
        self.announce()


def check_relations(number: str, relations: list[tuple[RelationKind, str]]) -> list[tuple[str, str]]:
    """Problems with a new document's relations, as (field, message)."""
    problems: list[tuple[str, str]] = []
    seen: set[tuple[RelationKind, str]] = set()
    for i, (kind, target) in enumerate(relations):
        if target == number:
            problems.append((f"relations[{i}].number", f"a document cannot {kind.value} itself"))
        elif (kind, target) in seen:
            problems.append((f"relations[{i}]", f"{kind.value} {target} is listed twice"))
        seen.add((kind, target))
    return problems
