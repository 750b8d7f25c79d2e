"""The event envelope every service emits and the notifier consumes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class EventType(StrEnum):
    PROCEDURE_PUBLISHED = "procedure.published"
    PROCEDURE_AMENDED = "procedure.amended"
    PROCEDURE_REPLACED = "procedure.replaced"
    PROCEDURE_ABOLISHED = "procedure.abolished"
    DECISION_PUBLISHED = "decision.published"
    # A decision published ahead of its effective day is applied later; the portal
    # shows it as scheduled until then.
    DECISION_APPLIED = "decision.applied"
    ARTICLE_PUBLISHED = "article.published"
    ARTICLE_UPDATED = "article.updated"
    ARTICLE_UNPUBLISHED = "article.unpublished"
    DOCUMENT_PUBLISHED = "document.published"
    TICKET_PUBLISHED = "ticket.published"
    TICKET_WITHDRAWN = "ticket.withdrawn"
    # The one event with personal data: the citizen's address, for the reply e-mail only.
    TICKET_ANSWERED = "ticket.answered"
    TICKET_OVERDUE = "ticket.overdue"


class SubjectKind(StrEnum):
    PROCEDURE = "procedure"
    DECISION = "decision"
    ARTICLE = "article"
    DOCUMENT = "document"
    TICKET = "ticket"


class Subject(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: SubjectKind
    id: str = Field(min_length=1, max_length=200)


class SubjectVersion(BaseModel):
    """One subject an owner holds, at its current version: a row of GET /v1/sync/versions,
    which the notifier's reconciliation compares with its ledger."""

    kind: str
    id: str
    version: int


class SyncVersions(BaseModel):
    """GET /v1/sync/versions of every owner: every subject it discloses."""

    subjects: list[SubjectVersion]


class Envelope(BaseModel):
    """One change of one subject. `data` is a small summary; consumers fetch state by API."""

    model_config = ConfigDict(frozen=True)

    id: UUID = Field(default_factory=uuid4)
    type: EventType
    source: str = Field(min_length=1, max_length=50)
    subject: Subject
    version: int = Field(ge=1, description="strictly increasing per subject")
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = Field(default=None, max_length=100)
    data: dict[str, Any] = Field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def write_schema(path: Path) -> None:
    path.write_text(json.dumps(Envelope.model_json_schema(), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write_schema(Path("docs/event-envelope.schema.json"))
