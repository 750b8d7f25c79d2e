"""Feedback tickets: their states, deadlines and public text, and the events they record.

A ticket keeps three texts: the citizen's original (never changed), the public
version (the original, or an officer's rewording, always passed through redaction)
and internal notes (never public). Only what `publication()` returns ever leaves the
service, and it is frozen when an approver approves it.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from hotline.redaction import Redactor
from minhbach_shared.events import Envelope, EventType, Subject, SubjectKind
from minhbach_shared.times import VIETNAM

SOURCE = "hotline"
TRACKING_PREFIX = "PAKN"


class Kind(StrEnum):
    PHAN_ANH = "phan_anh"  # phản ánh: feedback on how a procedure is carried out
    KIEN_NGHI = "kien_nghi"  # kiến nghị: a recommendation on a procedure


class Channel(StrEnum):
    WEB = "web"
    PHONE = "phone"
    EMAIL = "email"
    LETTER = "letter"
    WALK_IN = "walk_in"


class Status(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FORWARDED = "forwarded"
    ASSIGNED = "assigned"
    WAITING = "waiting_for_citizen"
    ANSWERED = "answered"
    APPROVED = "approved"
    PUBLISHED = "published"
    CLOSED = "closed"
    DUPLICATE = "duplicate"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    FORWARD = "forward"
    ASSIGN = "assign"
    WAIT = "wait"
    RESUME = "resume"
    ANSWER = "answer"
    APPROVE = "approve"
    PUBLISH = "publish"
    CLOSE = "close"
    MARK_DUPLICATE = "mark-duplicate"
    WITHDRAW = "withdraw"


# From which states each action may be taken.
ALLOWED: dict[Action, frozenset[Status]] = {
    Action.ACCEPT: frozenset({Status.RECEIVED}),
    Action.REJECT: frozenset({Status.RECEIVED}),
    Action.FORWARD: frozenset({Status.RECEIVED, Status.ACCEPTED}),
    Action.ASSIGN: frozenset({Status.ACCEPTED, Status.ASSIGNED}),
    Action.WAIT: frozenset({Status.RECEIVED, Status.ACCEPTED, Status.ASSIGNED}),
    Action.RESUME: frozenset({Status.WAITING}),
    Action.ANSWER: frozenset({Status.ASSIGNED, Status.ANSWERED}),
    Action.APPROVE: frozenset({Status.ANSWERED}),
    Action.PUBLISH: frozenset({Status.APPROVED}),
    Action.CLOSE: frozenset({Status.PUBLISHED, Status.REJECTED, Status.FORWARDED}),
    Action.MARK_DUPLICATE: frozenset({Status.RECEIVED, Status.ACCEPTED, Status.ASSIGNED, Status.WAITING}),
    # Only an answer that was published (closed after, or not) can be taken back.
    Action.WITHDRAW: frozenset({Status.PUBLISHED, Status.CLOSED}),
}
# The public text may be edited until an approver has seen and approved it.
EDITABLE = frozenset({Status.RECEIVED, Status.ACCEPTED, Status.ASSIGNED, Status.WAITING, Status.ANSWERED})
# What the citizen sees of the internal steps.
_PUBLIC_STATUS = {
    Status.ASSIGNED: "in_progress",
    Status.ANSWERED: "in_progress",
    Status.APPROVED: "in_progress",
}


def allowed_actions(status: Status) -> list[Action]:
    return [action for action in Action if status in ALLOWED[action]]


def vietnam_day(moment: datetime) -> date:
    return moment.astimezone(VIETNAM).date()


# Crockford's base 32: digits and capitals without I, L, O, U, so a code read over the
# phone is not misheard and a misread I, L or O still finds the ticket.
TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TYPED_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_OLD_CODE = re.compile(r"^PAKN-(\d{4})-(\d{6})$")  # sequential, before issue 12: still found
_TYPED = re.compile(r"^PAKN-?(\d{4})-?([0-9A-Z-]{8,9})$")


def tracking_code(year: int, draw: Callable[[int], int] = secrets.randbelow) -> str:
    """PAKN-2026-7K3M-9QXD: eight random characters (32^8, about 10^12 a year), so no one
    learns another ticket's status by counting; short enough to read over the phone."""
    chars = "".join(TRACKING_ALPHABET[draw(len(TRACKING_ALPHABET))] for _ in range(8))
    return f"{TRACKING_PREFIX}-{year}-{chars[:4]}-{chars[4:]}"


def read_tracking_code(typed: str) -> str | None:
    """A code as a citizen may type it (any case, spaces, I or L for 1, O for 0), written
    the one way it is stored; None when it cannot be a tracking code."""
    compact = "".join(typed.split()).upper()
    if _OLD_CODE.match(compact):
        return compact
    found = _TYPED.match(compact)
    if found is None:
        return None
    chars = found[2].replace("-", "").translate(_TYPED_AS)
    if len(chars) != 8 or any(c not in TRACKING_ALPHABET for c in chars):
        return None
    return f"{TRACKING_PREFIX}-{found[1]}-{chars[:4]}-{chars[4:]}"


class Calendar(Protocol):
    def is_working_day(self, day: date) -> bool: ...

    def add_working_days(self, start: date, days: int) -> date: ...

    def working_days_between(self, start: date, end: date) -> int: ...


@dataclass(frozen=True)
class Deadlines:
    classify_within_working_days: int = 5
    answer_within_working_days: int = 10


class TransitionNotAllowed(Exception):
    """`action` cannot be taken from the ticket's current state (mapped to 409)."""

    def __init__(self, action: Action, status: Status) -> None:
        self.action = action
        self.status = status
        self.allowed = allowed_actions(status)
        allowed = ", ".join(a.value for a in self.allowed) or "none"
        super().__init__(f"cannot {action.value} a ticket that is {status.value}; allowed now: {allowed}")


class RuleBroken(Exception):
    """A request the rules refuse for another reason (mapped to 409 or 422 by the service)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Transition:
    action: str
    from_status: Status | None
    to_status: Status
    actor: str
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class Publication:
    """Exactly what would leave the service: the redacted question and answer."""

    subject: str
    question: str
    answer: str

    @property
    def digest(self) -> str:
        payload = json.dumps([self.subject, self.question, self.answer], ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class Overdue:
    stage: str  # classification | answer | assignment
    due_on: date
    days_overdue: int
    unit: str | None


@dataclass
class Ticket:
    tracking_code: str
    kind: Kind
    channel: Channel
    subject: str
    body: str
    submitter: Contact
    consent_to_publish: bool
    received_at: datetime
    classify_due_on: date
    procedure_code: str | None = None
    status: Status = Status.RECEIVED
    id: int | None = None
    internal_notes: str = ""
    redaction_marks: list[str] = field(default_factory=list)
    public_subject_override: str | None = None
    public_question_override: str | None = None
    answer: str | None = None
    citizen_reason: str | None = None
    forwarded_to: str | None = None
    unit: str | None = None
    unit_due_on: date | None = None
    accepted_at: datetime | None = None
    answer_due_on: date | None = None
    paused_at: datetime | None = None
    resume_to: Status | None = None
    paused_working_days: int = 0
    answered_at: datetime | None = None
    approved_at: datetime | None = None
    approved_by: str | None = None
    published_at: datetime | None = None
    closed_at: datetime | None = None
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None
    duplicate_of_id: int | None = None
    published_subject: str | None = None
    published_question: str | None = None
    published_answer: str | None = None
    # Strictly increasing per ticket across every event it emits (published, overdue).
    version: int = 0
    events: list[Envelope] = field(default_factory=list, repr=False)
    new_transitions: list[Transition] = field(default_factory=list, repr=False)

    @classmethod
    def receive(
        cls,
        *,
        tracking_code: str,
        kind: Kind,
        channel: Channel,
        subject: str,
        body: str,
        submitter: Contact,
        consent_to_publish: bool,
        procedure_code: str | None,
        redaction_marks: Sequence[str] = (),
        internal_notes: str = "",
        actor: str,
        now: datetime,
        calendar: Calendar,
        deadlines: Deadlines,
    ) -> Ticket:
        ticket = cls(
            tracking_code=tracking_code,
            kind=kind,
            channel=channel,
            subject=subject,
            body=body,
            submitter=submitter,
            consent_to_publish=consent_to_publish,
            procedure_code=procedure_code,
            redaction_marks=list(redaction_marks),
            internal_notes=internal_notes,
            received_at=now,
            classify_due_on=calendar.add_working_days(
                vietnam_day(now), deadlines.classify_within_working_days
            ),
        )
        ticket.new_transitions.append(Transition("receive", None, Status.RECEIVED, actor, now, None))
        return ticket

    # Public text

    def redactor(self) -> Redactor:
        s = self.submitter
        contact = tuple(v for v in (s.phone, s.email, s.address) if v)
        return Redactor(names=(s.name,) if s.name else (), marks=(*contact, *self.redaction_marks))

    def publication(self) -> Publication:
        """The redacted subject, question and answer as they would be published now."""
        if self.published_question is not None:
            return Publication(
                self.published_subject or "", self.published_question, self.published_answer or ""
            )
        redact = self.redactor()
        return Publication(
            subject=redact(self.public_subject_override or self.subject),
            question=redact(self.public_question_override or self.body),
            answer=redact(self.answer or ""),
        )

    def public_reason(self) -> str | None:
        return self.redactor()(self.citizen_reason) if self.citizen_reason else None

    def public_status(self) -> str:
        return _PUBLIC_STATUS.get(self.status, self.status.value)

    @property
    def is_public(self) -> bool:
        """Its Q&A is on the portal: published (or closed after), with the citizen's consent,
        and not withdrawn."""
        return self.consent_to_publish and self.published_at is not None and self.withdrawn_at is None

    def allowed_actions(self) -> list[Action]:
        """What may be done now: the state's actions, less a withdrawal of nothing published."""
        return [a for a in allowed_actions(self.status) if a is not Action.WITHDRAW or self.published_at]

    def edit_public_text(
        self, *, marks: Sequence[str] | None, subject: str | None, question: str | None
    ) -> None:
        if self.status not in EDITABLE:
            raise RuleBroken(f"the public text of a ticket that is {self.status.value} can no longer change")
        if marks is not None:
            self.redaction_marks = list(dict.fromkeys(m for m in marks if m.strip()))
        if subject is not None:
            self.public_subject_override = subject or None
        if question is not None:
            self.public_question_override = question or None

    def add_note(self, note: str, *, actor: str, now: datetime) -> None:
        stamp = now.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M")
        line = f"[{stamp} {actor}] {note}"
        self.internal_notes = f"{self.internal_notes}\n{line}" if self.internal_notes else line

    # Transitions

    def _move(self, action: Action, to: Status, *, actor: str, now: datetime, note: str | None) -> None:
        if self.status not in ALLOWED[action]:
            raise TransitionNotAllowed(action, self.status)
        self.new_transitions.append(Transition(action.value, self.status, to, actor, now, note))
        self.status = to

    def accept(
        self, *, actor: str, now: datetime, calendar: Calendar, deadlines: Deadlines, note: str | None
    ) -> None:
        self._move(Action.ACCEPT, Status.ACCEPTED, actor=actor, now=now, note=note)
        self.accepted_at = now
        self.answer_due_on = calendar.add_working_days(vietnam_day(now), deadlines.answer_within_working_days)

    def reject(self, *, actor: str, now: datetime, reason: str, note: str | None) -> None:
        self._move(Action.REJECT, Status.REJECTED, actor=actor, now=now, note=note)
        self.citizen_reason = reason

    def forward(self, *, actor: str, now: datetime, agency: str, reason: str, note: str | None) -> None:
        self._move(Action.FORWARD, Status.FORWARDED, actor=actor, now=now, note=note)
        self.forwarded_to = agency
        self.citizen_reason = reason

    def assign(self, *, actor: str, now: datetime, unit: str, due_on: date | None, note: str | None) -> None:
        if self.status not in ALLOWED[Action.ASSIGN]:
            raise TransitionNotAllowed(Action.ASSIGN, self.status)
        due = due_on or self.answer_due_on
        if due is not None and due < vietnam_day(now):
            raise RuleBroken("the unit's due date is already past", field="due_on")
        self._move(Action.ASSIGN, Status.ASSIGNED, actor=actor, now=now, note=note)
        self.unit = unit
        self.unit_due_on = due

    def wait_for_citizen(self, *, actor: str, now: datetime, reason: str, note: str | None) -> None:
        previous = self.status
        self._move(Action.WAIT, Status.WAITING, actor=actor, now=now, note=note)
        self.resume_to = previous
        self.paused_at = now
        self.citizen_reason = reason

    def resume(self, *, actor: str, now: datetime, calendar: Calendar, note: str | None) -> int:
        """Back to where it was; every due date moves by the working days spent waiting."""
        if self.status is not Status.WAITING or self.resume_to is None or self.paused_at is None:
            raise TransitionNotAllowed(Action.RESUME, self.status)
        back = self.resume_to
        paused = calendar.working_days_between(vietnam_day(self.paused_at), vietnam_day(now))
        self._move(Action.RESUME, back, actor=actor, now=now, note=note)
        if back is Status.RECEIVED:
            self.classify_due_on = calendar.add_working_days(self.classify_due_on, paused)
        if self.answer_due_on is not None:
            self.answer_due_on = calendar.add_working_days(self.answer_due_on, paused)
        if self.unit_due_on is not None:
            self.unit_due_on = calendar.add_working_days(self.unit_due_on, paused)
        self.paused_working_days += paused
        self.paused_at = None
        self.resume_to = None
        self.citizen_reason = None
        return paused

    def draft_answer(self, *, actor: str, now: datetime, answer: str, note: str | None) -> None:
        self._move(Action.ANSWER, Status.ANSWERED, actor=actor, now=now, note=note)
        self.answer = answer
        self.answered_at = now

    def approve(self, *, actor: str, now: datetime, seen_digest: str | None, note: str | None) -> None:
        if self.status not in ALLOWED[Action.APPROVE]:
            raise TransitionNotAllowed(Action.APPROVE, self.status)
        publication = self.publication()
        if seen_digest is not None and seen_digest != publication.digest:
            raise RuleBroken("the text changed after the preview was shown; review it again")
        self._move(Action.APPROVE, Status.APPROVED, actor=actor, now=now, note=note)
        self.approved_at = now
        self.approved_by = actor
        # Frozen: what the approver saw is what gets published.
        self.published_subject = publication.subject
        self.published_question = publication.question
        self.published_answer = publication.answer

    def publish(self, *, actor: str, now: datetime, note: str | None) -> None:
        self._move(Action.PUBLISH, Status.PUBLISHED, actor=actor, now=now, note=note)
        self.published_at = now
        if self.submitter.email:
            # The one e-mail to the citizen (the notifier sends it, once per answer): the
            # only event that names a person, so it goes before the public one and the
            # ticket's newest version stays the one the channels show.
            self._emit(
                EventType.TICKET_ANSWERED,
                {
                    "reply_to": self.submitter.email,
                    "subject": self.published_subject,
                    "answer": self.published_answer,
                    "answered_on": self.answered_on.isoformat() if self.answered_on else None,
                    "public": self.is_public,
                },
                now,
            )
        if self.consent_to_publish:
            self._emit(
                EventType.TICKET_PUBLISHED,
                {
                    "status": "published",
                    "kind": self.kind.value,
                    "subject": self.published_subject,
                    "procedure_code": self.procedure_code,
                    "unit": self.unit,
                },
                now,
            )

    def withdraw(self, *, actor: str, now: datetime, reason: str) -> None:
        """Take a published answer back: it leaves the portal and every channel; the
        timeline keeps who withdrew it and why. Final: a new answer is a new ticket."""
        if self.status not in ALLOWED[Action.WITHDRAW]:
            raise TransitionNotAllowed(Action.WITHDRAW, self.status)
        if self.published_at is None:
            raise RuleBroken("only a published answer can be withdrawn; this ticket was closed unanswered")
        was_public = self.is_public
        self._move(Action.WITHDRAW, Status.WITHDRAWN, actor=actor, now=now, note=reason)
        self.withdrawn_at = now
        self.withdrawal_reason = reason
        if was_public:
            self._emit(EventType.TICKET_WITHDRAWN, {"status": "withdrawn"}, now)

    def unit_renamed(self, name: str, now: datetime) -> None:
        """Its unit has a new name: a published answer shows it, so the channels are told."""
        self.unit = name
        if self.is_public:
            self._emit(EventType.TICKET_PUBLISHED, {"status": "published", "unit": name}, now)

    def close(self, *, actor: str, now: datetime, note: str | None) -> None:
        self._move(Action.CLOSE, Status.CLOSED, actor=actor, now=now, note=note)
        self.closed_at = now

    def mark_duplicate(self, original: Ticket, *, actor: str, now: datetime, note: str | None) -> None:
        if self.status not in ALLOWED[Action.MARK_DUPLICATE]:
            raise TransitionNotAllowed(Action.MARK_DUPLICATE, self.status)
        if original.id == self.id:
            raise RuleBroken("a ticket cannot be a duplicate of itself", field="duplicate_of")
        if original.status is Status.DUPLICATE or original.duplicate_of_id is not None:
            raise RuleBroken("mark it a duplicate of the original ticket instead", field="duplicate_of")
        label = f"duplicate of {original.tracking_code}" + (f": {note}" if note else "")
        self._move(Action.MARK_DUPLICATE, Status.DUPLICATE, actor=actor, now=now, note=label)
        self.duplicate_of_id = original.id
        self.paused_at = None
        self.resume_to = None

    # Deadlines

    @property
    def answered_on(self) -> date | None:
        """The day the Department's answer was given: the day it was approved."""
        return vietnam_day(self.approved_at) if self.approved_at else None

    @property
    def answered_late(self) -> bool | None:
        if self.answered_on is None or self.answer_due_on is None:
            return None
        return self.answered_on > self.answer_due_on

    def running_deadline(self) -> tuple[str, date, str | None] | None:
        """(stage, due date, responsible unit) while a clock runs; None when none does."""
        if self.status is Status.RECEIVED:
            return ("classification", self.classify_due_on, None)
        if self.status is Status.ACCEPTED and self.answer_due_on:
            return ("answer", self.answer_due_on, None)
        if self.status is Status.ASSIGNED:
            due = self.unit_due_on or self.answer_due_on
            return ("assignment", due, self.unit) if due else None
        if self.status is Status.ANSWERED and self.answer_due_on:
            return ("answer", self.answer_due_on, self.unit)
        return None

    def overdue(self, today: date, calendar: Calendar) -> Overdue | None:
        running = self.running_deadline()
        if running is None:
            return None
        stage, due_on, unit = running
        late = calendar.working_days_between(due_on, today)
        return Overdue(stage, due_on, late, unit) if late >= 1 else None

    def record_overdue(self, overdue: Overdue, now: datetime) -> None:
        self._emit(
            EventType.TICKET_OVERDUE,
            {
                "unit": overdue.unit,
                "due_on": overdue.due_on.isoformat(),
                "days_overdue": overdue.days_overdue,
                "stage": overdue.stage,
                "status": self.status.value,
            },
            now,
        )

    def _emit(self, event_type: EventType, data: dict[str, object], now: datetime) -> None:
        self.version += 1
        self.events.append(
            Envelope(
                type=event_type,
                source=SOURCE,
                subject=Subject(kind=SubjectKind.TICKET, id=self.tracking_code),
                version=self.version,
                occurred_at=now,
                data=data,
            )
        )
