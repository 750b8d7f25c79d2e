"""The notifier API's response and query shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from minhbach_shared.times import VietnamTime

DeliveryStatusName = Literal["pending", "sent", "dead", "superseded"]


class ProcedurePreview(BaseModel):
    """A procedure's content as the procedures API serves it (any state), to preview."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(min_length=1, max_length=50)
    version: int = Field(0, ge=0)


class ChannelRead(BaseModel):
    name: str
    health: Literal["ok", "degraded", "failing"]
    lag_s: float = Field(description="age in seconds of the oldest pending delivery")
    backlog: int = Field(description="pending deliveries")
    failed: int = Field(description="pending deliveries that failed at least once (backing off)")
    dead: int
    last_run_at: VietnamTime | None = Field(None, description="when its last run started")
    last_success_at: VietnamTime | None = Field(None, description="when it last delivered something")


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    subject_kind: str
    subject_id: str
    version: int
    status: DeliveryStatusName
    attempts: int
    next_attempt_at: VietnamTime
    last_error: str | None
    created_at: VietnamTime
    sent_at: VietnamTime | None
    occurred_at: VietnamTime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    total: int
    page: int
    size: int
    # Asked for one subject: the channels that show it (each should have a row).
    channels: list[str] | None = None


class ResyncRead(BaseModel):
    channel: str
    deliveries: int


class ChannelRetryRead(BaseModel):
    channel: str
    retried: int = Field(description="dead and failed deliveries made due again")


class LatencySummary(BaseModel):
    count: int
    p50: float | None
    p90: float | None
    p99: float | None


class CellRead(BaseModel):
    version: int | None
    disclosed_at: VietnamTime | None
    state: Literal["current", "stale", "missing"]


class SubjectRow(BaseModel):
    kind: str
    id: str
    version: int
    channels: dict[str, CellRead]


class DriftItem(BaseModel):
    channel: str
    kind: str
    id: str
    version: int
    disclosed: int | None


class OverdueSummary(BaseModel):
    """ticket.overdue reminders recorded (not disclosures: the email channel will act on them)."""

    count: int
    tickets: int
    latest_received_at: VietnamTime | None


class DisclosureReport(BaseModel):
    generated_at: VietnamTime
    channels: list[str]
    subjects: list[SubjectRow]
    stale: list[DriftItem]
    missing: list[DriftItem]
    time_to_disclose: dict[str, LatencySummary]
    ticket_overdue: OverdueSummary


class QueueRead(BaseModel):
    queue: str
    depth: int
    oldest_age_s: float | None = Field(description="null when the oldest message carries no send time")
    unacked: int = Field(description="messages of this queue a worker holds, not yet acknowledged")
    consumers: int = Field(description="live workers consuming this queue (heartbeats)")
    dead_letters: int


class QueuesRead(BaseModel):
    queues: list[QueueRead]
    unacked: int
    channel_runs: dict[str, int]


class WorkerRead(BaseModel):
    name: str = Field(description="the worker's Celery name, e.g. portal@host")
    queues: list[str]
    pid: int
    seen_at: VietnamTime = Field(description="its last heartbeat")
    age_s: float
    online: bool = Field(description="a heartbeat within the last 30 s")


class WorkersRead(BaseModel):
    workers: list[WorkerRead]


class ReconcileRoundRead(BaseModel):
    finished_at: VietnamTime
    at_start: bool = Field(description="the catch-up of a worker starting (not drift)")
    fetched: int = Field(description="subjects fetched from their owner: their event was not seen")
    redelivered: int = Field(description="subjects a channel had lost, delivered again")
    fetched_subjects: list[str] = Field(description="kind:id, the first 50")
    redelivered_subjects: dict[str, list[str]] = Field(description="per channel, kind:id, the first 50")
    redelivered_by_channel: dict[str, int]
    unreachable: list[str] = Field(description="owners that did not answer")


class ReconciliationRead(BaseModel):
    last: ReconcileRoundRead | None
    repairs: list[ReconcileRoundRead] = Field(description="the latest rounds that repaired something")


class SubscribeRequest(BaseModel):
    """Follow one procedure (by code) or a whole field (by name), by e-mail."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr = Field(max_length=254)
    procedure_code: str | None = Field(None, min_length=1, max_length=120)
    field: str | None = Field(None, min_length=1, max_length=200)


class SubscribeAccepted(BaseModel):
    status: Literal["pending"] = "pending"
    detail: str = Field(
        "Vui lòng mở thư xác nhận vừa gửi tới địa chỉ e-mail để hoàn tất đăng ký.",
        description="the same answer whether the address was new or already subscribed",
    )
