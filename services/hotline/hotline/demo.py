"""The demo's answered questions: a few calls taken through intake, handling, approval and
publication by the service's own use cases, so they reach the outbox (and every channel)
like any other answer. Loaded only into a database that has no ticket yet.

The people are invented; the questions are the kind the Department's hotline receives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from hotline import schemas, services
from hotline.domain import Channel, Kind
from hotline.uow import UnitOfWork
from minhbach_shared.procedures_api import ProcedureRegister

OFFICER = "demo-hotline"
LEADER = "demo-approver"


@dataclass(frozen=True)
class DemoQuestion:
    kind: Kind
    subject: str
    body: str
    procedure_code: str | None
    name: str
    phone: str
    unit: str
    answer: str


QUESTIONS = (
    DemoQuestion(
        Kind.PHAN_ANH,
        "Hồ sơ cấp giấy phép xây dựng bị yêu cầu bổ sung nhiều lần",
        "Tôi nộp hồ sơ cấp giấy phép xây dựng tại Trung tâm Phục vụ hành chính công.\n"
        "Hồ sơ bị yêu cầu bổ sung hai lần, mỗi lần một loại giấy tờ khác nhau.",
        "MB.XD.001",
        "Nguyễn Văn An",
        "0912 345 678",
        "Phòng Quản lý xây dựng",
        "Sở Xây dựng đã kiểm tra hồ sơ và xin lỗi ông về việc yêu cầu bổ sung nhiều lần.\n"
        "Theo quy định, cơ quan tiếp nhận chỉ yêu cầu bổ sung hồ sơ một lần, bằng văn bản, "
        "nêu đủ các giấy tờ còn thiếu. Sở đã nhắc nhở bộ phận tiếp nhận và hồ sơ của ông "
        "đã được giải quyết.",
    ),
    DemoQuestion(
        Kind.KIEN_NGHI,
        "Đề nghị cho nộp hồ sơ gia hạn giấy phép xây dựng trực tuyến",
        "Tôi đề nghị Sở cho phép nộp hồ sơ gia hạn giấy phép xây dựng qua Cổng dịch vụ công "
        "để người dân không phải đi lại nhiều lần.",
        "MB.XD.004",
        "Trần Thị Bình",
        "0987 654 321",
        "Văn phòng Sở",
        "Cảm ơn bà đã kiến nghị. Thủ tục gia hạn giấy phép xây dựng đã được cung cấp dịch vụ "
        "công trực tuyến toàn trình trên Cổng dịch vụ công quốc gia.\n"
        "Bà có thể nộp hồ sơ, theo dõi tiến độ và nhận kết quả trực tuyến mà không cần đến "
        "Trung tâm Phục vụ hành chính công.",
    ),
    DemoQuestion(
        Kind.PHAN_ANH,
        "Chưa rõ hồ sơ cấp chứng chỉ hành nghề cần những giấy tờ gì",
        "Tôi muốn xin cấp chứng chỉ hành nghề hoạt động xây dựng hạng III nhưng chưa rõ cần "
        "chuẩn bị những giấy tờ gì và nộp ở đâu.",
        "MB.XD.007",
        "Lê Minh Cường",
        "0868 111 222",
        "Phòng Quản lý xây dựng",
        "Thành phần hồ sơ, phí và thời hạn giải quyết được công khai đầy đủ tại trang của thủ "
        "tục trên Cổng thông tin của Sở và tại Trung tâm Phục vụ hành chính công tỉnh.\n"
        "Ông có thể nộp hồ sơ trực tiếp, qua bưu chính hoặc trực tuyến.",
    ),
    DemoQuestion(
        Kind.KIEN_NGHI,
        "Đề nghị công khai lịch tiếp công dân của Sở",
        "Đề nghị Sở Xây dựng công khai lịch tiếp công dân trên trang thông tin điện tử "
        "để người dân tiện theo dõi.",
        None,
        "Phạm Thu Hà",
        "0903 222 333",
        "Văn phòng Sở",
        "Sở Xây dựng tiếp công dân vào thứ Năm hằng tuần tại trụ sở Sở. Lịch tiếp công dân "
        "được niêm yết tại trụ sở và đăng trên Cổng thông tin điện tử của Sở.",
    ),
)


class SampleProcedures:
    """The procedures the demo loaded (procedures-sample.json): the demo runs before the
    procedures API does, and its questions may only name procedures it has."""

    def __init__(self, codes: Iterable[str]) -> None:
        self.codes = frozenset(codes)

    @classmethod
    def from_file(cls, path: Path) -> SampleProcedures:
        payload = json.loads(path.read_text(encoding="utf-8"))
        return cls(str(p["code"]) for p in payload["procedures"])

    def exists(self, code: str) -> bool:
        return code in self.codes


def load_demo_answers(
    units: Callable[[], UnitOfWork],
    *,
    procedures: ProcedureRegister,
    now: datetime,
    policy: services.Policy,
) -> int:
    """Receive, answer, approve and publish the demo questions; 0 when there are tickets already."""
    with units() as uow:
        if uow.repo.has_tickets():
            return 0
    for i, q in enumerate(QUESTIONS):
        # Each one an hour apart, so they list in a stable order, newest last received.
        at = now - timedelta(hours=len(QUESTIONS) - i)
        fields = schemas.StaffTicketCreate(
            kind=q.kind,
            subject=q.subject,
            body=q.body,
            procedure_code=q.procedure_code
            if q.procedure_code and procedures.exists(q.procedure_code)
            else None,
            name=q.name,
            phone=q.phone,
            consent_to_publish=True,
        )
        ticket = services.submit_ticket(
            units(),
            fields,
            channel=Channel.PHONE,
            actor=OFFICER,
            now=at,
            policy=policy,
            procedures=procedures,
        )
        assert ticket.id is not None
        ticket_id = ticket.id
        services.accept(units(), ticket_id, actor=OFFICER, now=at, policy=policy, note=None)
        services.assign(units(), ticket_id, actor=OFFICER, now=at, unit=q.unit, due_on=None, note=None)
        services.draft_answer(
            units(), ticket_id, actor=OFFICER, now=at, answer=q.answer, redact=None, note=None
        )
        services.approve(units(), ticket_id, actor=LEADER, now=at, seen_digest=None, note=None)
        services.publish(units(), ticket_id, actor=LEADER, now=at, note=None)
    return len(QUESTIONS)
