"""API models. Input is strict: limits, patterns and enums make bad input a precise 422."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from hotline.domain import Action, Channel, Kind, read_tracking_code
from minhbach_shared import events
from minhbach_shared.text import nfc
from minhbach_shared.times import VietnamTime

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$"
PHONE_PATTERN = r"^\+?[0-9][0-9 .()\-]{6,24}$"
EMAIL_PATTERN = r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"
# As stored (domain.read_tracking_code writes what was typed this way): the random code,
# or a sequential one from before.
TRACKING_PATTERN = r"^PAKN-\d{4}-(?:\d{6}|[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4})$"


def _nfc(value: Any) -> Any:
    return nfc(value) if isinstance(value, str) else value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return _nfc(value)


def _text(max_length: int) -> tuple[StringConstraints, BeforeValidator]:
    # The before-validator sits last so it runs first: lengths count NFC characters.
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length), BeforeValidator(
        _nfc
    )


def _optional(max_length: int) -> tuple[StringConstraints, BeforeValidator]:
    return (
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        BeforeValidator(_blank_to_none),
    )


Subject = Annotated[str, *_text(300)]
Body = Annotated[str, *_text(10_000)]
Name = Annotated[str, *_text(200)]
Unit = Annotated[str, *_text(300)]
Reason = Annotated[str, *_text(2_000)]
Mark = Annotated[str, *_text(300)]
Note = Annotated[str | None, *_optional(2_000)]
Address = Annotated[str | None, *_optional(500)]
PublicSubject = Annotated[str | None, *_optional(300)]
PublicQuestion = Annotated[str | None, *_optional(10_000)]
Phone = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, pattern=PHONE_PATTERN),
    BeforeValidator(_blank_to_none),
]
Email = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL_PATTERN),
    BeforeValidator(_blank_to_none),
]
ProcedureCode = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, pattern=CODE_PATTERN),
    BeforeValidator(_blank_to_none),
]
Marks = Annotated[list[Mark], Field(max_length=50)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketFields(Input):
    kind: Kind
    subject: Subject
    body: Body
    procedure_code: ProcedureCode = None
    name: Name
    phone: Phone = None
    email: Email = None
    address: Address = None
    consent_to_publish: bool = False

    def contact_missing(self) -> bool:
        return not self.phone and not self.email


class PublicTicketCreate(TicketFields):
    """The portal form. `website` is a honeypot: people never see it, so they leave it empty."""

    website: Annotated[str | None, Field(max_length=500)] = None


class StaffTicketCreate(TicketFields):
    """A call, email, letter or walk-in logged by a hotline officer."""

    channel: Channel = Channel.PHONE
    redact: Marks = []
    note: Note = None


class Receipt(BaseModel):
    tracking_code: str
    status: str
    received_at: VietnamTime
    classify_due_on: date
    message: str


class NoteIn(Input):
    note: Note = None


class Reject(NoteIn):
    reason: Reason


class Forward(NoteIn):
    agency: Unit
    reason: Reason


class Assign(NoteIn):
    unit: Unit
    due_on: date | None = None


class Wait(NoteIn):
    reason: Reason


class Answer(NoteIn):
    answer: Body
    redact: Marks | None = None


class Approve(NoteIn):
    preview_digest: Annotated[str | None, Field(pattern=r"^[0-9a-f]{64}$")] = None


class Withdraw(Input):
    reason: Reason


class UnitCreate(Input):
    name: Unit


class UnitChange(Input):
    """Rename, retire (active false) or bring back (active true); either or both."""

    name: Unit | None = None
    active: bool | None = None


class UnitRead(BaseModel):
    id: int
    name: str
    active: bool


class UnitList(BaseModel):
    items: list[UnitRead]


def _tracking_code(value: object) -> object:
    return (read_tracking_code(value) or value) if isinstance(value, str) else value


class MarkDuplicate(NoteIn):
    duplicate_of: Annotated[
        str,
        BeforeValidator(_tracking_code),
        StringConstraints(strip_whitespace=True, pattern=TRACKING_PATTERN),
    ]


class InternalNote(Input):
    note: Reason


class PublicTextEdit(Input):
    """The officer's marks (replacing the list) and optional rewording of the public version."""

    redact: Marks | None = None
    public_subject: PublicSubject = None
    public_question: PublicQuestion = None


class Submitter(BaseModel):
    name: str
    phone: str | None
    email: str | None
    address: str | None


class TransitionRead(BaseModel):
    action: str
    from_status: str | None
    to_status: str
    actor: str
    at: VietnamTime
    note: str | None


class PublicationPreview(BaseModel):
    """Exactly the text that would be published; approve with its digest to be sure."""

    tracking_code: str
    consent_to_publish: bool
    subject: str
    question: str
    answer: str
    digest: str


class TicketRead(BaseModel):
    """The staff view: everything, personal data included."""

    id: int
    tracking_code: str
    kind: Kind
    channel: Channel
    status: str
    allowed_actions: list[Action]
    subject: str
    body: str
    procedure_code: str | None
    submitter: Submitter
    consent_to_publish: bool
    redaction_marks: list[str]
    public_subject_override: str | None
    public_question_override: str | None
    public_subject: str
    public_question: str
    answer: str | None
    public_answer: str | None
    internal_notes: str
    citizen_reason: str | None
    forwarded_to: str | None
    unit: str | None
    unit_due_on: date | None
    duplicate_of: str | None
    received_at: VietnamTime
    classify_due_on: date
    accepted_at: VietnamTime | None
    answer_due_on: date | None
    paused_at: VietnamTime | None
    paused_working_days: int
    answered_at: VietnamTime | None
    approved_at: VietnamTime | None
    approved_by: str | None
    published_at: VietnamTime | None
    closed_at: VietnamTime | None
    withdrawn_at: VietnamTime | None
    withdrawal_reason: str | None
    is_public: bool
    version: int
    transitions: list[TransitionRead]


class TicketSummary(BaseModel):
    id: int
    tracking_code: str
    kind: Kind
    channel: Channel
    status: str
    subject: str
    unit: str | None
    received_at: VietnamTime
    due_on: date | None


class TicketPage(BaseModel):
    items: list[TicketSummary]
    total: int
    page: int
    size: int


class PublicTicketStatus(BaseModel):
    """What anyone holding the tracking code sees: status, dates, the reason given. No personal data."""

    tracking_code: str
    status: str
    kind: Kind
    received_on: date
    classify_due_on: date | None
    answer_due_on: date | None
    answered_on: date | None
    published_at: VietnamTime | None
    reason: str | None
    forwarded_to: str | None
    duplicate_of: str | None
    answer_url: str | None


class PublicAnswer(BaseModel):
    id: str
    version: int
    status: str
    kind: Kind
    subject: str
    question: str
    answer: str
    procedure_code: str | None
    unit: str | None
    received_on: date
    answered_on: date | None
    published_at: VietnamTime


class PublicAnswerPage(BaseModel):
    items: list[PublicAnswer]
    total: int
    page: int
    size: int


class MonthUnit(BaseModel):
    month: str
    unit: str | None
    received: int
    answered_on_time: int
    answered_late: int
    open_overdue: int


class HotlineInfo(BaseModel):
    phones: list[str]
    office_hours: str


class Statistics(BaseModel):
    months: list[MonthUnit]
    hotline: HotlineInfo


# GET /v1/sync/versions: the contract's shape, the same for every owner.
SubjectVersion = events.SubjectVersion
SyncVersions = events.SyncVersions
