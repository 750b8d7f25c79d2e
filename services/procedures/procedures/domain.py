"""Procedures and publication decisions: the rules, and the events they record.

A procedure's public content changes only when a decision takes effect. Editors
work on a draft (for a procedure in force: its working draft, applied by an
`amend`); every published state is kept as a numbered version. Publishing a
decision snapshots the content each `new` or `amend` puts in force: what the
approver published is what takes effect, even if the draft is edited before the
effective date (those edits stay a working draft for a later decision).

Every write names its actor (the token's subject; "demo" or "system" for the
service's own paths): who drafted and last edited a procedure, who wrote the content
of each published version, who created, last edited, submitted, sent back and published
a decision. None means unknown (rows written before actors were recorded).

A decision is drafted and submitted by editors and published or sent back by an
approver who neither created it nor last edited it (four eyes): draft -> submitted ->
scheduled/in_effect, or submitted -> draft with a reason.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from minhbach_shared.components import PROCEDURE_COMPONENTS
from minhbach_shared.events import Envelope, EventType, Subject, SubjectKind
from minhbach_shared.times import VIETNAM
from procedures.amendments import ComponentChange, compare

SOURCE = "procedures"

Content = dict[str, Any]


class ProcedureStatus(StrEnum):
    DRAFT = "draft"
    IN_FORCE = "in_force"
    REPLACED = "replaced"
    ABOLISHED = "abolished"


class Action(StrEnum):
    NEW = "new"
    AMEND = "amend"
    REPLACE = "replace"
    ABOLISH = "abolish"


class DecisionStatus(StrEnum):
    DRAFT = "draft"
    # Sent by an editor for approval; an approver publishes it or sends it back (draft).
    SUBMITTED = "submitted"
    SCHEDULED = "scheduled"
    IN_EFFECT = "in_effect"
    # A scheduled decision that was no longer valid when it fell due; nothing applied.
    FAILED = "failed"


# Every status of a published decision: what the public may see (a failed one with its reason).
PUBLISHED_DECISION = (DecisionStatus.SCHEDULED, DecisionStatus.IN_EFFECT, DecisionStatus.FAILED)


# The mandatory components, in the order the national procedure form lists them. The
# online-service level is one: every procedure of the sample carries it, and the portal,
# the centre's notice and the online public service portal all show it.
_TEXT_COMPONENTS = ("name", "field", "level", "agency", "result", "online_service")
_LIST_COMPONENTS = ("subjects", "steps", "submission_methods", "legal_basis")
# May be empty lists (fees [] means free of charge) but must have been filled in.
_PRESENT_COMPONENTS = ("processing_time", "fees", "forms", "requirements")
COMPONENT_ORDER = PROCEDURE_COMPONENTS


def missing_components(content: Mapping[str, Any]) -> list[str]:
    """The mandatory components `content` lacks, in form order."""
    missing: set[str] = set()
    for name in _TEXT_COMPONENTS:
        value = content.get(name)
        if not isinstance(value, str) or not value.strip():
            missing.add(name)
    for name in _LIST_COMPONENTS:
        if not content.get(name):
            missing.add(name)
    for name in _PRESENT_COMPONENTS:
        if content.get(name) is None:
            missing.add(name)
    dossier = content.get("dossier")
    if not isinstance(dossier, Mapping) or not dossier.get("items"):
        missing.add("dossier")
    return [name for name in COMPONENT_ORDER if name in missing]


def effective_at_for(effective_on: date) -> datetime:
    """00:00 in Vietnam on `effective_on`, as UTC (17:00 UTC the day before)."""
    return datetime.combine(effective_on, time(0, 0), tzinfo=VIETNAM).astimezone(UTC)


def vietnam_today(now: datetime) -> date:
    return now.astimezone(VIETNAM).date()


class RuleBroken(Exception):
    """An operation the current state does not allow (mapped to 409)."""


class SelfApproval(Exception):
    """The approver drafted the decision they would publish or send back (mapped to 403)."""


class InvalidField(Exception):
    """A value the rules refuse (mapped to 422); `field` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Problem:
    """Why one change of a decision cannot take effect."""

    index: int
    procedure_code: str
    message: str
    missing: tuple[str, ...] = ()

    def as_error(self) -> dict[str, Any]:
        return {
            "field": f"changes[{self.index}]",
            "procedure_code": self.procedure_code,
            "missing": list(self.missing),
            "message": self.message,
        }


class DecisionRejected(Exception):
    """A decision that cannot take effect; `problems` names each change and what it lacks."""

    def __init__(self, decision_number: str, problems: list[Problem], *, refused: str = "published") -> None:
        self.problems = problems
        incomplete = {p.procedure_code for p in problems if p.missing}
        if len(incomplete) == len(problems):
            reason = f"{len(incomplete)} procedure{'s are' if len(incomplete) != 1 else ' is'} incomplete"
        else:
            reason = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found"
        super().__init__(f"decision {decision_number} cannot be {refused}: {reason}")
        self.message = str(self)


@dataclass(frozen=True)
class ProcedureVersion:
    """One published state of a procedure, kept forever."""

    code: str
    version: int
    status: ProcedureStatus
    action: Action
    content: Content
    decision_id: int | None
    effective_at: datetime
    # Who last edited the content this version holds (None: unknown).
    written_by: str | None = None
    # What it changed against what it follows, component by component, worked out once
    # here rather than on every read: an amendment against the version before it; a
    # procedure put in force in place of another (`replaces`) against that one's content.
    # None for any other version.
    changes: tuple[ComponentChange, ...] | None = None
    replaces: str | None = None


@dataclass
class Procedure:
    code: str
    draft: Content | None
    status: ProcedureStatus = ProcedureStatus.DRAFT
    version: int = 0
    published: Content | None = None
    replaced_by: str | None = None
    effective_at: datetime | None = None
    # Who created the procedure, who last edited its working draft and when, and who
    # last edited the published content (None: unknown, a row older than actors).
    drafted_by: str | None = None
    edited_by: str | None = None
    edited_at: datetime | None = None
    written_by: str | None = None
    id: int | None = None
    events: list[Envelope] = field(default_factory=list, repr=False)
    new_versions: list[ProcedureVersion] = field(default_factory=list, repr=False)

    @classmethod
    def create(cls, code: str, content: Content, *, by: str, at: datetime) -> Procedure:
        return cls(code=code, draft=dict(content), drafted_by=by, edited_by=by, edited_at=at)

    @property
    def ever_published(self) -> bool:
        return self.version > 0

    @property
    def working_content(self) -> Content:
        """What an editor sees: the working draft, else the published content."""
        if self.draft is not None:
            return self.draft
        return dict(self.published or {})

    def edit(self, changes: Mapping[str, Any], *, by: str, at: datetime) -> None:
        """Change the draft; for a procedure in force, its working draft for a later `amend`."""
        if self.status in (ProcedureStatus.REPLACED, ProcedureStatus.ABOLISHED):
            raise RuleBroken(f"procedure {self.code} is {self.status.value} and can no longer be edited")
        self.draft = {**self.working_content, **changes}
        self.edited_by = by
        self.edited_at = at

    # Applying changes; a Decision validates first, so these only record.

    def put_in_force(
        self,
        content: Content,
        *,
        written_by: str | None,
        decision_id: int | None,
        at: datetime,
        in_place_of: Procedure | None = None,
    ) -> None:
        """`in_place_of`: the procedure the same decision replaces by this one."""
        self._publish(content, written_by)
        self.status = ProcedureStatus.IN_FORCE
        changes = None if in_place_of is None else tuple(compare(in_place_of.published or {}, content))
        replaces = None if in_place_of is None else in_place_of.code
        self._new_version(
            Action.NEW, EventType.PROCEDURE_PUBLISHED, decision_id, at, changes=changes, replaces=replaces
        )

    def amend(
        self, content: Content, *, written_by: str | None, decision_id: int | None, at: datetime
    ) -> None:
        changes = tuple(compare(self.published or {}, content))
        self._publish(content, written_by)
        self._new_version(Action.AMEND, EventType.PROCEDURE_AMENDED, decision_id, at, changes=changes)

    def _publish(self, content: Content, written_by: str | None) -> None:
        """`content` (a decision's snapshot) becomes public; a draft edited since stays a working draft."""
        self.published = copy.deepcopy(content)
        self.written_by = written_by
        if self.draft == content:
            self.draft = None

    def replace_by(self, code: str, *, decision_id: int | None, at: datetime) -> None:
        self.status = ProcedureStatus.REPLACED
        self.replaced_by = code
        self.draft = None
        self._new_version(Action.REPLACE, EventType.PROCEDURE_REPLACED, decision_id, at)

    def abolish(self, *, decision_id: int | None, at: datetime) -> None:
        self.status = ProcedureStatus.ABOLISHED
        self.draft = None
        self._new_version(Action.ABOLISH, EventType.PROCEDURE_ABOLISHED, decision_id, at)

    def _new_version(
        self,
        action: Action,
        event_type: EventType,
        decision_id: int | None,
        at: datetime,
        *,
        changes: tuple[ComponentChange, ...] | None = None,
        replaces: str | None = None,
    ) -> None:
        self.version += 1
        self.effective_at = at
        content = dict(self.published or {})
        self.new_versions.append(
            ProcedureVersion(
                code=self.code,
                version=self.version,
                status=self.status,
                action=action,
                content=content,
                decision_id=decision_id,
                effective_at=at,
                written_by=self.written_by,
                changes=changes,
                replaces=replaces,
            )
        )
        self.events.append(
            Envelope(
                type=event_type,
                source=SOURCE,
                subject=Subject(kind=SubjectKind.PROCEDURE, id=self.code),
                version=self.version,
                data={
                    "name": content.get("name"),
                    "field": content.get("field"),
                    "status": self.status.value,
                    "decision_id": decision_id,
                    "replaced_by": self.replaced_by,
                },
            )
        )


@dataclass(frozen=True)
class Change:
    action: Action
    procedure_code: str
    replaced_by: str | None = None
    # For `new` and `amend`: the content it puts in force, taken when the decision is
    # published (None before that), and who last edited that content.
    content: Content | None = None
    written_by: str | None = None

    @property
    def puts_content_in_force(self) -> bool:
        return self.action in (Action.NEW, Action.AMEND)


@dataclass
class Decision:
    """A publication decision: the only way a procedure enters, changes or leaves force."""

    number: str
    title: str
    issuer: str
    signed_on: date
    effective_on: date
    changes: list[Change]
    id: int | None = None
    status: DecisionStatus = DecisionStatus.DRAFT
    version: int = 0
    published_at: datetime | None = None
    applied_at: datetime | None = None
    failure_reason: str | None = None
    # Who created it, last edited it, last submitted it and published it, and when
    # (None: unknown, a row older than actors, or not done yet).
    created_by: str | None = None
    edited_by: str | None = None
    edited_at: datetime | None = None
    submitted_by: str | None = None
    submitted_at: datetime | None = None
    published_by: str | None = None
    # The last send-back: who, when and why; the editors see it until the next submit.
    returned_by: str | None = None
    returned_at: datetime | None = None
    return_reason: str | None = None
    # Deleted in this unit of work (a draft only); the repository removes it.
    discarded: bool = field(default=False, repr=False)
    events: list[Envelope] = field(default_factory=list, repr=False)

    @classmethod
    def create(
        cls,
        *,
        number: str,
        title: str,
        issuer: str,
        signed_on: date,
        effective_on: date,
        changes: list[Change],
        by: str,
        at: datetime,
    ) -> Decision:
        _check_dates(signed_on, effective_on)
        return cls(
            number=number,
            title=title,
            issuer=issuer,
            signed_on=signed_on,
            effective_on=effective_on,
            changes=list(changes),
            created_by=by,
            edited_by=by,
            edited_at=at,
        )

    @property
    def effective_at(self) -> datetime:
        return effective_at_for(self.effective_on)

    # The editors' side: a draft is edited, deleted or submitted.

    def edit(
        self,
        *,
        by: str,
        at: datetime,
        number: str | None = None,
        title: str | None = None,
        issuer: str | None = None,
        signed_on: date | None = None,
        effective_on: date | None = None,
        changes: list[Change] | None = None,
    ) -> None:
        """Change a draft; what is given replaces what was there (`changes`: the whole list)."""
        self._require(DecisionStatus.DRAFT, "edit", "only a draft can be edited")
        # Checked on the result, so a refusal leaves the draft as it was.
        _check_dates(signed_on or self.signed_on, effective_on or self.effective_on)
        self.number = number or self.number
        self.title = title or self.title
        self.issuer = issuer or self.issuer
        self.signed_on = signed_on or self.signed_on
        self.effective_on = effective_on or self.effective_on
        if changes is not None:
            self.changes = list(changes)
        self.edited_by = by
        self.edited_at = at

    def discard(self) -> None:
        """Delete a draft: nothing of it was ever public, so nothing is kept."""
        self._require(DecisionStatus.DRAFT, "delete", "only a draft can be deleted")
        self.discarded = True

    def submit(self, procedures: Mapping[str, Procedure], *, by: str, at: datetime) -> None:
        """Send a draft for approval; refused, as publishing would be, if it could not take effect."""
        self._require(DecisionStatus.DRAFT, "submit", "only a draft can be submitted")
        # The editor learns now what the approver would be refused; publish checks again.
        if problems := self.problems(procedures):
            raise DecisionRejected(self.number, problems, refused="submitted")
        self.status = DecisionStatus.SUBMITTED
        self.submitted_by = by
        self.submitted_at = at
        self.returned_by = self.returned_at = self.return_reason = None

    # The approver's side: a submitted decision is published or sent back.

    def send_back(self, reason: str, *, by: str, at: datetime) -> None:
        """Return a submitted decision to its editors as a draft, saying why."""
        self._require(DecisionStatus.SUBMITTED, "send back", "only a submitted decision can be sent back")
        self._check_four_eyes(by, "send it back")
        if not reason.strip():
            raise InvalidField("reason", "say why the decision goes back to its editors")
        self.status = DecisionStatus.DRAFT
        self.returned_by = by
        self.returned_at = at
        self.return_reason = reason.strip()

    def _require(self, status: DecisionStatus, action: str, rule: str) -> None:
        if self.status is not status:
            raise RuleBroken(f"cannot {action} decision {self.number}: it is {self.status.value}; {rule}")

    def _check_four_eyes(self, by: str, action: str) -> None:
        """Whoever created or last edited a decision cannot approve it (None: unknown, not checked)."""
        if by == self.created_by:
            raise SelfApproval(f"you created decision {self.number}; another approver must {action}")
        if by == self.edited_by:
            raise SelfApproval(f"you last edited decision {self.number}; another approver must {action}")

    def involved_codes(self) -> list[str]:
        """Every procedure code the decision touches, in change order, without repeats."""
        codes: dict[str, None] = {}
        for change in self.changes:
            codes[change.procedure_code] = None
            if change.replaced_by:
                codes[change.replaced_by] = None
        return list(codes)

    def problems(self, procedures: Mapping[str, Procedure]) -> list[Problem]:
        """Every reason the decision cannot take effect now; empty when it can."""
        found: list[Problem] = []
        seen: set[str] = set()
        for index, change in enumerate(self.changes):
            code = change.procedure_code
            if code in seen:
                found.append(Problem(index, code, f"procedure {code} appears more than once in the decision"))
                continue
            seen.add(code)
            if (wrong := self._problem(change, procedures)) is not None:
                message, missing = wrong
                found.append(Problem(index, code, message, tuple(missing)))
        return found

    def _problem(self, change: Change, procedures: Mapping[str, Procedure]) -> tuple[str, list[str]] | None:
        """What stops one change, as (message, missing components); None if nothing does."""
        code = change.procedure_code
        procedure = procedures.get(code)
        if procedure is None:
            return f"procedure {code} does not exist", []
        if change.action is Action.NEW:
            if procedure.ever_published:
                return f"procedure {code} has already been in force; use amend", []
            missing = missing_components(_content_of(change, procedure))
            return (_incomplete(missing), missing) if missing else None
        if procedure.status is not ProcedureStatus.IN_FORCE:
            return f"procedure {code} is not in force", []
        if change.action is Action.AMEND:
            if change.content is None and procedure.draft is None:
                return f"procedure {code} has no working draft to amend", []
            missing = missing_components(_content_of(change, procedure))
            return (_incomplete(missing), missing) if missing else None
        if change.action is Action.REPLACE:
            return self._replacement_problem(code, change.replaced_by, procedures)
        return None  # abolish: being in force is enough

    def _replacement_problem(
        self, code: str, successor: str | None, procedures: Mapping[str, Procedure]
    ) -> tuple[str, list[str]] | None:
        new_codes = {c.procedure_code for c in self.changes if c.action is Action.NEW}
        leaving = {c.procedure_code for c in self.changes if c.action in (Action.REPLACE, Action.ABOLISH)}
        if not successor:
            return "replaced_by is required to replace a procedure", []
        if successor == code:
            return f"procedure {code} cannot replace itself", []
        if successor not in procedures:
            return f"replacement procedure {successor} does not exist", []
        if successor in leaving:
            return f"replacement procedure {successor} leaves force in the same decision", []
        if procedures[successor].status is not ProcedureStatus.IN_FORCE and successor not in new_codes:
            return (
                f"replacement procedure {successor} is not in force "
                "and this decision does not put it in force",
                [],
            )
        return None

    def publish(self, procedures: Mapping[str, Procedure], *, by: str, now: datetime) -> None:
        """Publish a submitted decision: at once when the effective moment has come, else scheduled."""
        if self.status is DecisionStatus.DRAFT:
            raise RuleBroken(
                f"cannot publish decision {self.number}: it is a draft; an editor submits it first"
            )
        if self.status is not DecisionStatus.SUBMITTED:
            raise RuleBroken(f"decision {self.number} is already published ({self.status.value})")
        self._check_four_eyes(by, "publish it")
        if problems := self.problems(procedures):
            raise DecisionRejected(self.number, problems)
        self.changes = [
            replace(
                c,
                content=copy.deepcopy(_content_of(c, procedures[c.procedure_code])),
                written_by=procedures[c.procedure_code].edited_by,
            )
            if c.puts_content_in_force
            else c
            for c in self.changes
        ]
        due = self.effective_at <= now
        self.status = DecisionStatus.IN_EFFECT if due else DecisionStatus.SCHEDULED
        self.version = 1
        self.published_at = now
        self.published_by = by
        if due:
            self.applied_at = now
        self._record(EventType.DECISION_PUBLISHED)
        if due:
            self._apply(procedures)

    def is_due(self, now: datetime) -> bool:
        return self.status is DecisionStatus.SCHEDULED and self.effective_at <= now

    def apply_due(self, procedures: Mapping[str, Procedure], *, now: datetime) -> bool:
        """Apply a scheduled decision whose time has come, whole or not at all.

        What takes effect is the content snapshotted at publication, not the draft as it is now.
        """
        if not self.is_due(now):
            return False
        if problems := self.problems(procedures):
            self.status = DecisionStatus.FAILED
            self.failure_reason = "; ".join(f"{p.procedure_code}: {p.message}" for p in problems)
            return False
        self.status = DecisionStatus.IN_EFFECT
        self.version = 2
        self.applied_at = now
        self._record(EventType.DECISION_APPLIED)
        self._apply(procedures)
        return True

    def _apply(self, procedures: Mapping[str, Procedure]) -> None:
        # The procedures' events join the decision's, so they leave in change order.
        at = self.effective_at
        # A procedure put in force in place of another by this decision: the one it replaces.
        in_place_of = {c.replaced_by: c.procedure_code for c in self.changes if c.action is Action.REPLACE}
        for change in self.changes:
            procedure = procedures[change.procedure_code]
            if change.action is Action.NEW:
                replaced = in_place_of.get(change.procedure_code)
                procedure.put_in_force(
                    _content_of(change, procedure),
                    written_by=change.written_by,
                    decision_id=self.id,
                    at=at,
                    in_place_of=procedures[replaced] if replaced is not None else None,
                )
            elif change.action is Action.AMEND:
                procedure.amend(
                    _content_of(change, procedure), written_by=change.written_by, decision_id=self.id, at=at
                )
            elif change.action is Action.REPLACE:
                assert change.replaced_by is not None
                procedure.replace_by(change.replaced_by, decision_id=self.id, at=at)
            else:
                procedure.abolish(decision_id=self.id, at=at)
            self.events.extend(procedure.events)
            procedure.events.clear()

    def _record(self, event_type: EventType) -> None:
        self.events.append(
            Envelope(
                type=event_type,
                source=SOURCE,
                subject=Subject(kind=SubjectKind.DECISION, id=str(self.id)),
                version=self.version,
                data={
                    "number": self.number,
                    "title": self.title,
                    "status": self.status.value,
                    "effective_on": self.effective_on.isoformat(),
                    "changes": len(self.changes),
                },
            )
        )


def _content_of(change: Change, procedure: Procedure) -> Content:
    """What a `new` or `amend` puts in force: its snapshot once published, else the draft now."""
    if change.content is not None:
        return change.content
    return procedure.working_content if change.action is Action.NEW else dict(procedure.draft or {})


def _check_dates(signed_on: date, effective_on: date) -> None:
    if effective_on < signed_on:
        raise InvalidField("effective_on", "effective_on cannot be before signed_on")


def _incomplete(missing: list[str]) -> str:
    return f"missing mandatory components: {', '.join(missing)}"
