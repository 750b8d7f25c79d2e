"""The notifier's test doubles: a fake owner, contract-shaped states and envelopes, and a
real SMTP server (aiosmtpd) that keeps what it accepted."""

from __future__ import annotations

import copy
import email
import email.policy
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from minhbach_shared.events import Envelope, Subject
from minhbach_shared.text import slugify
from notifier.owners import OwnerRegistry, Versions

if TYPE_CHECKING:
    from notifier.parts import Parts


class FakeOwner:
    """An owner API in memory: states by (kind, id); can be switched off."""

    def __init__(self) -> None:
        self.states: dict[tuple[str, str], dict[str, Any]] = {}
        self.fetches: list[tuple[str, str]] = []
        # "METHOD /path" of each request its HTTP stand-in served (integration tests).
        self.requests: list[str] = []
        # Documents that are not subjects, by name (the hotline's "statistics").
        self.documents: dict[str, dict[str, Any]] = {}
        self.down = False

    def put(self, kind: str, state: dict[str, Any]) -> dict[str, Any]:
        key = (kind, str(state.get("code") or state["id"]))
        self.states[key] = state
        return state

    def fetch(self, subject: Subject) -> dict[str, Any] | None:
        if self.down:
            raise httpx.ConnectError("owner is down")
        key = (subject.kind.value, subject.id)
        self.fetches.append(key)
        state = self.states.get(key)
        return copy.deepcopy(state) if state is not None else None

    def remove(self, kind: str, subject_id: str) -> None:
        """The owner now answers 404 for it (a withdrawn answer)."""
        self.states.pop((kind, subject_id), None)

    def document(self, name: str) -> dict[str, Any] | None:
        if self.down:
            raise httpx.ConnectError("owner is down")
        body = self.documents.get(name)
        return copy.deepcopy(body) if body is not None else None

    def versions(self) -> Versions:
        if self.down:
            raise httpx.ConnectError("owner is down")
        return [(k, i, int(s["version"])) for (k, i), s in self.states.items()]


def decision_ref(
    decision_id: int = 3, number: str = "12/QĐ-SXD", effective_on: str = "2026-11-27"
) -> dict[str, Any]:
    return {
        "id": decision_id,
        "number": number,
        "title": "Quyết định công bố thủ tục hành chính lĩnh vực xây dựng",
        "signed_on": "2026-11-20",
        "effective_on": effective_on,
    }


def procedure_state(
    code: str = "MB.XD.001",
    version: int = 1,
    *,
    name: str = "Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II",
    field: str = "Hoạt động xây dựng",
    status: str = "in_force",
    replaced_by: str | None = None,
    actions: list[tuple[str, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A ProcedureRead as the contract shows it; `actions` is the history, oldest first."""
    actions = actions or [("new", decision_ref())] + [
        ("amend", decision_ref(3 + v, f"{20 + v}/QĐ-SXD")) for v in range(2, version + 1)
    ]
    history = [
        {
            "version": v,
            "action": action,
            "status": "in_force" if v < len(actions) else status,
            "effective_at": f"2026-11-{min(26 + v, 30):02d}T17:00:00Z",
            "decision": decision,
        }
        for v, (action, decision) in enumerate(actions, start=1)
    ]
    return {
        "code": code,
        "status": status,
        "version": version,
        "name": name,
        "field": field,
        "level": "Cấp tỉnh",
        "agency": "Sở Xây dựng tỉnh Thái Bình",
        "subjects": ["Tổ chức", "Cá nhân"],
        "steps": [
            "Bước 1: Tổ chức, cá nhân nộp hồ sơ tại Trung tâm Phục vụ hành chính công tỉnh.",
            "Bước 2: Sở Xây dựng thẩm định hồ sơ.",
        ],
        "submission_methods": ["Trực tiếp", "Trực tuyến trên Cổng dịch vụ công"],
        "dossier": {
            "items": [
                {"name": "Đơn đề nghị cấp giấy phép xây dựng", "originals": 1, "copies": 0},
                {"name": "Bản vẽ thiết kế xây dựng", "originals": 0, "copies": 2},
            ],
            "sets": 1,
        },
        "processing_time": {"value": 20, "unit": "working_days"},
        "result": "Giấy phép xây dựng",
        "fees": [{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 150000}],
        "forms": ["Mẫu số 01 - Đơn đề nghị cấp giấy phép xây dựng"],
        "requirements": [],
        "legal_basis": ["Luật Xây dựng số 50/2014/QH13"],
        "online_service": "một phần",
        "replaced_by": replaced_by,
        "effective_at": history[-1]["effective_at"],
        "history": history,
    }


def decision_state(
    decision_id: int = 3,
    version: int = 1,
    *,
    number: str = "12/QĐ-SXD",
    status: str = "in_effect",
    effective_on: str = "2026-11-27",
    changes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": decision_id,
        "number": number,
        "title": "Quyết định công bố thủ tục hành chính lĩnh vực xây dựng",
        "issuer": "Chủ tịch UBND tỉnh Thái Bình",
        "signed_on": "2026-11-20",
        "effective_on": effective_on,
        "effective_at": "2026-11-26T17:00:00Z",
        "status": status,
        "version": version,
        "published_at": "2026-11-21T02:00:00Z",
        "applied_at": "2026-11-26T17:00:00Z" if status == "in_effect" else None,
        "changes": changes
        or [
            {
                "action": "new",
                "procedure_code": "MB.XD.001",
                "procedure_name": "Cấp giấy phép",
                "replaced_by": None,
            }
        ],
    }


def registry(
    procedures: FakeOwner, content: FakeOwner | None = None, hotline: FakeOwner | None = None
) -> OwnerRegistry:
    """The owners as bootstrap wires them: procedures, and content and hotline when given."""
    owners = {"procedures": procedures} | ({"content": content} if content is not None else {})
    owners |= {"hotline": hotline} if hotline is not None else {}
    return OwnerRegistry.of(owners)


def notifier_on(root: Path, redis_url: str, owner: FakeOwner, **settings: Any) -> Parts:
    """The notifier's parts outside the services' test fixtures (a bench, a browser test):
    a migrated SQLite file and the channels' directories under `root`, a real Redis, and
    `owner` for procedures (content and hotline owners that hold nothing)."""
    import redis as redis_lib

    from notifier.bootstrap import build_parts, make_notifier_celery
    from notifier.manage import migrate
    from notifier.settings import Settings

    config = Settings(
        database_url=f"sqlite:///{root}/notifier.db",
        portal_dir=root / "portal",
        center_dir=root / "center",
        redis_url=redis_url,
        log_json=False,
        environment="test",
        **settings,
    )
    migrate(config)
    return build_parts(
        config,
        celery=make_notifier_celery(config),
        owners=registry(owner, FakeOwner(), FakeOwner()),
        redis=redis_lib.Redis.from_url(redis_url),
    )


def article_state(
    article_id: int = 7,
    version: int = 1,
    *,
    category: str = "news",
    status: str = "published",
    title: str = "Sở Xây dựng đẩy mạnh cải cách hành chính năm 2026",
    slug: str | None = None,
    summary: str = "Sở Xây dựng tỉnh Thái Bình triển khai kế hoạch cải cách hành chính.",
    body_html: str = "<p>Năm 2026, Sở <strong>đẩy mạnh</strong> cải cách hành chính.</p>",
    cover_image_url: str | None = "/v1/attachments/" + "a" * 64,
    tags: list[str] | None = None,
    procedure_codes: list[str] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    publish_at: str = "2026-11-20T01:00:00Z",
    expire_at: str | None = None,
    updated_at: str | None = None,
) -> dict[str, Any]:
    """An ArticleRead as the contract shows it."""
    return {
        "id": article_id,
        "version": version,
        "status": status,
        "category": category,
        "title": title,
        "slug": slug if slug is not None else slugify(title),
        "summary": summary,
        "body_html": body_html,
        "cover_image_url": cover_image_url,
        "tags": ["cải cách hành chính"] if tags is None else tags,
        "procedure_codes": procedure_codes or [],
        "attachments": attachments
        if attachments is not None
        else [
            {
                "id": "b" * 64,
                "filename": "ke-hoach-cai-cach.pdf",
                "content_type": "application/pdf",
                "size": 245_760,
                "url": "/v1/attachments/" + "b" * 64,
            }
        ],
        "publish_at": publish_at,
        "expire_at": expire_at,
        "published_at": publish_at,
        "updated_at": updated_at or publish_at,
    }


def document_state(
    document_id: int = 1,
    version: int = 1,
    *,
    number: str = "76/NQ-CP",
    type: str = "Nghị quyết",  # the contract's field name
    issuer: str = "Chính phủ",
    signed_on: str = "2021-07-15",
    effective_on: str | None = None,
    title: str = "Chương trình tổng thể cải cách hành chính nhà nước giai đoạn 2021-2030",
    summary: str = "",
    in_force: bool = True,
    relations: list[dict[str, Any]] | None = None,
    related_by: list[dict[str, Any]] | None = None,
    procedure_codes: list[str] | None = None,
    attachment: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A DocumentRead as the contract shows it."""
    return {
        "id": document_id,
        "version": version,
        "number": number,
        "type": type,
        "issuer": issuer,
        "signed_on": signed_on,
        "effective_on": effective_on,
        "title": title,
        "summary": summary,
        "attachment": attachment,
        "in_force": in_force,
        "relations": relations or [],
        "related_by": related_by or [],
        "procedure_codes": procedure_codes or [],
    }


# ../shared/data/legal-documents.json, as the content service serves it once loaded:
# 107/2021/NĐ-CP amends 61/2018/NĐ-CP, whose version was bumped to show the inverse.
_DEMO = [
    ("76/NQ-CP", "Nghị quyết", "Chính phủ", "2021-07-15",
     "Chương trình tổng thể cải cách hành chính nhà nước giai đoạn 2021-2030"),
    ("61/2018/NĐ-CP", "Nghị định", "Chính phủ", "2018-04-23",
     "Về thực hiện cơ chế một cửa, một cửa liên thông trong giải quyết thủ tục hành chính"),
    ("107/2021/NĐ-CP", "Nghị định", "Chính phủ", "2021-12-06",
     "Sửa đổi, bổ sung một số điều của Nghị định số 61/2018/NĐ-CP ngày 23 tháng 4 năm 2018 của Chính phủ "
     "về thực hiện cơ chế một cửa, một cửa liên thông trong giải quyết thủ tục hành chính"),
    ("3373/QĐ-UBND", "Quyết định", "UBND tỉnh Thái Bình", "2021-12-28",
     "Ban hành Quy định trách nhiệm người đứng đầu các cơ quan, đơn vị trên địa bàn tỉnh "
     "trong thực hiện nhiệm vụ cải cách hành chính"),
    ("2726/QĐ-UBND", "Quyết định", "UBND tỉnh Thái Bình", "2021-11-09",
     "Phê duyệt Danh mục thủ tục hành chính/dịch vụ công trực tuyến mức độ 4 thực hiện tại tỉnh Thái Bình"),
    ("15/KH-UBND", "Kế hoạch", "UBND tỉnh Thái Bình", "2022-02-07",
     "Kế hoạch tuyên truyền cải cách hành chính năm 2022"),
]  # fmt: skip


def demo_documents(*, inverse: bool = True) -> list[dict[str, Any]]:
    """The six demo documents; `inverse=False`: 61/2018 does not (yet) say it is amended."""
    out = [
        document_state(i, 1, number=n, type=t, issuer=by, signed_on=on, title=title, summary=title)
        for i, (n, t, by, on, title) in enumerate(_DEMO, start=1)
    ]
    out[2]["relations"] = [{"kind": "amends", "number": "61/2018/NĐ-CP", "document_id": 2}]
    if inverse:
        out[1]["version"] = 2
        out[1]["related_by"] = [{"kind": "amended_by", "number": "107/2021/NĐ-CP", "document_id": 3}]
    return out


def ticket_answer(
    tracking_code: str = "PAKN-2026-000123",
    version: int = 1,
    *,
    kind: str = "phan_anh",
    subject: str = "Hồ sơ cấp giấy phép xây dựng bị yêu cầu bổ sung nhiều lần",
    question: str = "Tôi nộp hồ sơ cấp giấy phép xây dựng nhà ở từ tháng 10.\n"
    "Hồ sơ bị yêu cầu bổ sung ba lần, mỗi lần một giấy tờ khác nhau.",
    answer: str = "Sở Xây dựng đã kiểm tra và xin lỗi ông/bà về việc yêu cầu bổ sung nhiều lần.\n"
    "Theo quy định, cơ quan tiếp nhận chỉ yêu cầu bổ sung hồ sơ một lần.",
    procedure_code: str | None = "MB.XD.001",
    unit: str | None = "Phòng Quản lý xây dựng",
    received_on: str = "2026-11-20",
    answered_on: str | None = "2026-11-25",
    published_at: str = "2026-11-25T18:30:00Z",
    status: str = "published",
) -> dict[str, Any]:
    """A PublicAnswer as the contract shows it (GET /v1/public/answers/{tracking_code})."""
    return {
        "id": tracking_code,
        "version": version,
        "status": status,
        "kind": kind,
        "subject": subject,
        "question": question,
        "answer": answer,
        "procedure_code": procedure_code,
        "unit": unit,
        "received_on": received_on,
        "answered_on": answered_on,
        "published_at": published_at,
    }


def hotline_statistics(
    months: list[dict[str, Any]] | None = None,
    *,
    phones: list[str] | None = None,
    office_hours: str = "Sáng 7:00-11:30, chiều 13:30-17:00, thứ Hai đến thứ Sáu",
) -> dict[str, Any]:
    """GET /v1/public/statistics as the contract shows it."""
    return {
        "months": months
        if months is not None
        else [
            {
                "month": "2026-10",
                "unit": "Phòng Quản lý xây dựng",
                "received": 3,
                "answered_on_time": 2,
                "answered_late": 1,
                "open_overdue": 0,
            },
            {
                "month": "2026-11",
                "unit": "Phòng Quản lý xây dựng",
                "received": 4,
                "answered_on_time": 2,
                "answered_late": 1,
                "open_overdue": 1,
            },
            {
                "month": "2026-11",
                "unit": None,
                "received": 2,
                "answered_on_time": 0,
                "answered_late": 0,
                "open_overdue": 1,
            },
        ],
        "hotline": {
            "phones": ["0227 3831 234"] if phones is None else phones,
            "office_hours": office_hours,
        },
    }


def overdue_data(
    unit: str | None = "Phòng Quản lý xây dựng", due_on: str = "2026-11-24", days: int = 2
) -> dict[str, Any]:
    """A ticket.overdue event's data as the hotline emits it."""
    return {"unit": unit, "due_on": due_on, "days_overdue": days, "stage": "assignment", "status": "assigned"}


SOURCES = {
    "procedure": "procedures",
    "decision": "procedures",
    "article": "content",
    "document": "content",
    "ticket": "hotline",
}
DEFAULT_TYPES = {
    "procedure": "procedure.amended",
    "decision": "decision.published",
    "article": "article.published",
    "document": "document.published",
    "ticket": "ticket.published",
}


def envelope(
    kind: str,
    subject_id: str,
    version: int,
    event_type: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    wire: dict[str, Any] = Envelope(
        type=event_type or DEFAULT_TYPES[kind],
        source=SOURCES[kind],
        subject={"kind": kind, "id": subject_id},
        version=version,
        data=data or {},
    ).to_wire()
    return wire


class Inbox:
    """An aiosmtpd handler keeping every message it accepted, with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope_: Any) -> str:
        message = email.message_from_bytes(envelope_.content, policy=email.policy.default)
        self.messages.append((list(envelope_.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]


def start_smtp(port: int, inbox: Inbox) -> Any:
    from aiosmtpd.controller import Controller

    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def worker_env(settings: Any, owner_url: str) -> dict[str, str]:
    """A notifier Celery worker's environment: the test's Redis, database, directories, owner."""
    return {
        "MB_REDIS_URL": settings.redis_url,
        "MB_LOG_JSON": "false",
        "MB_ENVIRONMENT": "test",
        "NOTIFIER_DATABASE_URL": settings.database_url,
        "NOTIFIER_PORTAL_DIR": str(settings.portal_dir),
        "NOTIFIER_CENTER_DIR": str(settings.center_dir),
        "NOTIFIER_PROCEDURES_URL": owner_url,
        "NOTIFIER_CONTENT_URL": owner_url,
        "NOTIFIER_HOTLINE_URL": owner_url,
    }


def pending_delivery(
    delivery_id: int, channel: str, kind: str, subject_id: str, version: int = 1, *, at: datetime
) -> Any:
    """A pending delivery row as a channel run hands it to `deliver`."""
    from notifier.disclosure.domain import Delivery

    return Delivery(
        id=delivery_id,
        channel=channel,
        subject_kind=kind,
        subject_id=subject_id,
        version=version,
        status="pending",
        attempts=0,
        next_attempt_at=at,
        last_error=None,
        created_at=at,
        sent_at=None,
        occurred_at=at,
    )
