"""API models. Input is strict: limits, patterns and enums make bad input a precise 422.

Responses show moments in Vietnam time (`VietnamTime`: ISO with +07:00); they are stored
and carried in events as UTC.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from minhbach_shared import events
from minhbach_shared.text import nfc
from minhbach_shared.times import VietnamTime
from procedures.domain import Action, DecisionStatus, ProcedureStatus

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$"


def _nfc(value: Any) -> Any:
    return nfc(value) if isinstance(value, str) else value


# The before-validator sits last so it runs first: lengths count NFC characters.
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), BeforeValidator(_nfc)
]
Item = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), BeforeValidator(_nfc)
]
Items = Annotated[list[Item], Field(max_length=100)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=CODE_PATTERN)]
Count = Annotated[int, Field(ge=0, le=1000)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimeUnit(StrEnum):
    WORKING_DAYS = "working_days"
    DAYS = "days"
    HOURS = "hours"
    MONTHS = "months"


class OnlineService(StrEnum):
    FULL = "toàn trình"
    PARTIAL = "một phần"
    NONE = "không"


class DossierItem(Input):
    """One paper of the dossier; `originals`/`copies` null: the procedure does not say."""

    name: Item
    originals: Count | None = None
    copies: Count | None = None


class Dossier(Input):
    """`{items: [{name, originals?, copies?}], sets?}`; also the sample's shape.

    The sample (`procedures-sample.json`) gives `{"items": ["..."], "copies": 1}`: the
    form's "Số lượng hồ sơ: 01 bộ", one set of the whole dossier, so it is stored as
    `sets`. It says nothing per paper (its item names say "Bản chính ..." or "Bản sao
    ..." where it matters), so a paper given by name keeps originals and copies null
    rather than numbers the source never gave.
    """

    items: Annotated[list[DossierItem], Field(max_length=100)] = []
    sets: Count | None = None

    @model_validator(mode="before")
    @classmethod
    def _sample_shape(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = dict(value)
        if "copies" in value and "sets" not in value:
            value["sets"] = value.pop("copies")
        items = value.get("items")
        if isinstance(items, list):
            value["items"] = [{"name": i} if isinstance(i, str) else i for i in items]
        return value


class ProcessingTime(Input):
    value: Annotated[int, Field(ge=0, le=100_000)]
    unit: TimeUnit


class Fee(Input):
    """`amount_vnd` null means set elsewhere (e.g. by a Ministry of Finance tariff; see `note`)."""

    name: Item
    amount_vnd: Annotated[int, Field(ge=0, le=10**13)] | None
    note: Item | None = None


class ProcedureFields(Input):
    """Every component; all optional so drafts can be partial."""

    field: Name | None = None
    level: Name | None = None
    agency: Name | None = None
    subjects: Items | None = None
    steps: Items | None = None
    submission_methods: Items | None = None
    dossier: Dossier | None = None
    processing_time: ProcessingTime | None = None
    result: Item | None = None
    fees: Annotated[list[Fee], Field(max_length=100)] | None = None
    forms: Items | None = None
    requirements: Items | None = None
    legal_basis: Items | None = None
    online_service: OnlineService | None = None


class ProcedureCreate(ProcedureFields):
    code: Code
    name: Name

    def content(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"code"})


class ProcedureUpdate(ProcedureFields):
    """Only the fields sent change; `null` clears a component (not the name)."""

    # No `| None`: an explicit null name is a 422, leaving it out keeps the name.
    name: Name = None  # type: ignore[assignment]

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class ProcedureContent(BaseModel):
    name: str | None = None
    field: str | None = None
    level: str | None = None
    agency: str | None = None
    subjects: list[str] | None = None
    steps: list[str] | None = None
    submission_methods: list[str] | None = None
    dossier: Dossier | None = None
    processing_time: ProcessingTime | None = None
    result: str | None = None
    fees: list[Fee] | None = None
    forms: list[str] | None = None
    requirements: list[str] | None = None
    legal_basis: list[str] | None = None
    online_service: OnlineService | None = None


class DecisionRef(BaseModel):
    id: int
    number: str
    title: str
    signed_on: date
    effective_on: date


class ItemChangeRead(BaseModel):
    before: dict[str, Any]
    after: dict[str, Any]


class ComponentChangeRead(BaseModel):
    """One component an amendment changed; procedures.amendments gives each component's shape."""

    component: str
    before: Any = None
    after: Any = None
    added: list[Any] = []
    removed: list[Any] = []
    changed: list[ItemChangeRead] = []


AmendmentChanges = Annotated[
    list[ComponentChangeRead] | None,
    Field(
        description="for an amendment: what changed against the version before, component by "
        "component ([]: nothing did); null for any other action"
    ),
]


Replaces = Annotated[
    str | None,
    Field(
        description="a procedure put in force in place of another by the same decision: that one's "
        "code; `changes` then compares with its content"
    ),
]


class HistoryEntry(BaseModel):
    version: int
    action: Action
    status: ProcedureStatus
    effective_at: VietnamTime
    decision: DecisionRef | None
    changes: AmendmentChanges = None
    replaces: Replaces = None


class ProcedureRead(ProcedureContent):
    """The current published version."""

    code: str
    status: ProcedureStatus
    version: int
    replaced_by: str | None = None
    effective_at: VietnamTime | None
    history: list[HistoryEntry]


class ProcedureDraftRead(ProcedureContent):
    """What an editor works on: the draft, or for a procedure in force its working draft."""

    code: str
    status: ProcedureStatus
    version: int
    has_working_draft: bool
    missing: list[str] = Field(description="mandatory components still missing")
    updated_at: VietnamTime
    # Staff only: token subjects; null for procedures written before actors were recorded.
    drafted_by: str | None = Field(description="who created the procedure")
    edited_by: str | None = Field(description="who last edited its working draft")
    edited_at: VietnamTime | None = Field(description="when it was last edited")


class ProcedureSummary(BaseModel):
    code: str
    name: str
    field: str | None
    status: ProcedureStatus
    version: int
    replaced_by: str | None
    effective_at: VietnamTime | None


class ProcedurePage(BaseModel):
    items: list[ProcedureSummary]
    total: int
    page: int
    size: int


class ProcedureStaffSummary(ProcedureSummary):
    """A list item as staff see it: also who drafted it and who last edited its working draft."""

    drafted_by: str | None = Field(description="who created the procedure")
    edited_by: str | None = Field(description="who last edited its working draft")
    edited_at: VietnamTime | None = Field(description="when it was last edited")


class ProcedureStaffPage(BaseModel):
    items: list[ProcedureStaffSummary]
    total: int
    page: int
    size: int


class ProcedureVersionRead(BaseModel):
    version: int
    action: Action
    status: ProcedureStatus
    effective_at: VietnamTime
    decision: DecisionRef | None
    changes: AmendmentChanges = None
    replaces: Replaces = None
    content: ProcedureContent


class ProcedureVersions(BaseModel):
    code: str
    items: list[ProcedureVersionRead]


class ProcedureVersionStaffRead(ProcedureVersionRead):
    """A version as staff see it: also who wrote its content (null: unknown)."""

    written_by: str | None = Field(description="who last edited the content this version holds")


class ProcedureVersionsStaff(BaseModel):
    code: str
    items: list[ProcedureVersionStaffRead]


class ChangeCreate(Input):
    action: Action
    procedure_code: Code
    replaced_by: Code | None = None

    @model_validator(mode="after")
    def _replaced_by_only_for_replace(self) -> ChangeCreate:
        if self.action is Action.REPLACE and not self.replaced_by:
            raise ValueError("replaced_by is required when action is replace")
        if self.action is not Action.REPLACE and self.replaced_by:
            raise ValueError("replaced_by is only allowed when action is replace")
        return self


DecisionNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), BeforeValidator(_nfc)
]
Changes = Annotated[list[ChangeCreate], Field(min_length=1, max_length=1000)]


class DecisionCreate(Input):
    number: DecisionNumber
    title: Name
    issuer: Name
    signed_on: date
    effective_on: date
    changes: Changes

    @model_validator(mode="after")
    def _effective_after_signing(self) -> DecisionCreate:
        if self.effective_on < self.signed_on:
            raise ValueError("effective_on cannot be before signed_on")
        return self


class DecisionUpdate(Input):
    """A draft's fields, each optional; `changes`, when sent, replaces the whole list."""

    number: DecisionNumber | None = None
    title: Name | None = None
    issuer: Name | None = None
    signed_on: date | None = None
    effective_on: date | None = None
    changes: Changes | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Leaving a field out keeps it; null would clear what a decision must have.
        if value is None:
            raise ValueError("may be left out, not null")
        return value

    @model_validator(mode="after")
    def _effective_after_signing(self) -> DecisionUpdate:
        # With one of the two dates alone, the domain checks it against the stored other.
        if self.signed_on and self.effective_on and self.effective_on < self.signed_on:
            raise ValueError("effective_on cannot be before signed_on")
        return self

    def fields(self) -> dict[str, Any]:
        """What was sent, except `changes` (the caller makes domain changes of those)."""
        return self.model_dump(exclude_unset=True, exclude={"changes"})


class SendBackRequest(Input):
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), BeforeValidator(_nfc)
    ] = Field(description="why the decision goes back to its editors; they see it until they submit again")


class ChangeRead(BaseModel):
    action: Action
    procedure_code: str
    procedure_name: str | None
    replaced_by: str | None
    # An amendment of a published decision: what it changed (in effect), or will change
    # against the content in force now (scheduled); a `new` that replaces another procedure
    # of the same decision: against that one's content (`replaces`). Null otherwise.
    changes: AmendmentChanges = None
    replaces: Replaces = None


class DecisionRead(BaseModel):
    id: int
    number: str
    title: str
    issuer: str
    signed_on: date
    effective_on: date
    effective_at: VietnamTime
    status: DecisionStatus
    version: int
    published_at: VietnamTime | None
    applied_at: VietnamTime | None
    failure_reason: str | None = None
    changes: list[ChangeRead]


class DecisionStaffRead(DecisionRead):
    """A decision as staff see it: also who did what in its review (null: unknown, or not yet)."""

    created_by: str | None = Field(description="who created the decision")
    edited_by: str | None = Field(description="who last edited the draft")
    edited_at: VietnamTime | None = Field(description="when the draft was last edited")
    submitted_by: str | None = Field(description="who last submitted it for approval")
    submitted_at: VietnamTime | None = Field(description="when it was last submitted")
    published_by: str | None = Field(description="who published it (null until published)")
    returned_by: str | None = Field(description="the approver who last sent it back (null after a submit)")
    returned_at: VietnamTime | None = Field(description="when it was sent back")
    return_reason: str | None = Field(description="why it was sent back")


# Reads shared with the public: a staff token gets the staff body. The staff model comes
# first; a public body lacks its actor fields, so only the public model fits that one.
VersionsAnswer = ProcedureVersionsStaff | ProcedureVersions
DecisionAnswer = DecisionStaffRead | DecisionRead


class DecisionPage(BaseModel):
    items: list[DecisionRead]
    total: int
    page: int
    size: int


class DecisionStaffPage(BaseModel):
    items: list[DecisionStaffRead]
    total: int
    page: int
    size: int


# The lists, the same way: staff items carry actors, which public items lack.
ProceduresAnswer = ProcedureStaffPage | ProcedurePage
DecisionsAnswer = DecisionStaffPage | DecisionPage


# GET /v1/sync/versions: the contract's shape, the same for every owner.
SubjectVersion = events.SubjectVersion
SyncVersions = events.SyncVersions


# One request for many subjects' current states: a decision changing 200 procedures
# costs the notifier one round trip, not 200.
MAX_BATCH = 200


class SubjectRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["procedure", "decision"]
    id: str = Field(min_length=1, max_length=120)


class SyncStatesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subjects: list[SubjectRef] = Field(min_length=1, max_length=MAX_BATCH)


class SyncState(BaseModel):
    kind: str
    id: str
    # The same body as GET /v1/procedures/{code} or /v1/decisions/{id}; null: not public (404 there).
    state: ProcedureRead | DecisionRead | None


class SyncStates(BaseModel):
    states: list[SyncState]
