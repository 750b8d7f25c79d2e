"""The hotline desk's rules, framework-free: labels in Vietnamese, how near each deadline is
(in Vietnam time, against the due date the hotline API counts in working days), which
actions a person may take on a ticket (the API's allowed actions for its state, and the
person's roles), reading the small forms, and the public preview with every redaction
marked."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from console.decision_form import page_name, read_date, vn_date
from console.decision_form import today_in_vietnam as today_in_vietnam
from minhbach_shared.auth import Role

# What the hotline puts where it removed personal data (hotline.redaction.PLACEHOLDER).
REDACTED = "[đã ẩn]"

STATUS_LABELS = {
    "received": "Mới tiếp nhận",
    "accepted": "Đã thụ lý",
    "assigned": "Đã giao đơn vị",
    "waiting_for_citizen": "Chờ người dân bổ sung",
    "answered": "Đã soạn trả lời, chờ duyệt",
    "approved": "Đã duyệt, chờ đăng",
    "published": "Đã trả lời công khai",
    "closed": "Đã đóng",
    "rejected": "Không thụ lý",
    "forwarded": "Đã chuyển cơ quan khác",
    "duplicate": "Trùng phản ánh khác",
    "withdrawn": "Đã gỡ câu trả lời",
}
# The queue's default: every state in which someone still has work to do.
OPEN_STATUSES = ("received", "accepted", "assigned", "waiting_for_citizen", "answered", "approved")
KIND_LABELS = {"phan_anh": "Phản ánh", "kien_nghi": "Kiến nghị"}
CHANNEL_LABELS = {
    "phone": "Điện thoại",
    "web": "Cổng thông tin",
    "email": "Thư điện tử",
    "letter": "Thư, công văn",
    "walk_in": "Trực tiếp",
}
# The timeline's verbs (the API's transition actions).
STEP_LABELS = {
    "receive": "Tiếp nhận",
    "accept": "Thụ lý",
    "reject": "Không thụ lý",
    "forward": "Chuyển cơ quan khác",
    "assign": "Giao đơn vị",
    "wait": "Chờ người dân bổ sung",
    "resume": "Tiếp tục xử lý",
    "answer": "Soạn trả lời",
    "approve": "Phê duyệt trả lời",
    "publish": "Đăng công khai",
    "close": "Đóng",
    "mark-duplicate": "Đánh dấu trùng",
    "withdraw": "Gỡ câu trả lời",
}


@dataclass(frozen=True)
class Field:
    name: str  # the API's, and the form's
    label: str
    required: bool = False
    multiline: bool = False
    hint: str = ""
    choices: str = ""  # a list the page offers to pick from ("units"), when it can read it


NOTE = Field("note", "Ghi chú nội bộ (không công khai)", multiline=True)


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the API's path segment; "note" is POST /notes
    title: str  # the form's legend
    button: str
    roles: tuple[Role, ...]
    fields: tuple[Field, ...]
    message: str  # web.MESSAGES key after it is done
    danger: bool = False


HOTLINE = (Role.HOTLINE,)
APPROVER = (Role.APPROVER,)
STAFF = (Role.HOTLINE, Role.APPROVER)

# The actions offered on a ticket's page, in the order they are shown. Answer, approve and
# publish live on the answer composer, beside the public preview.
ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec("accept", "Thụ lý", "Thụ lý", HOTLINE, (NOTE,), "ticket_accepted"),
        ActionSpec(
            "assign",
            "Giao đơn vị xử lý",
            "Giao đơn vị",
            HOTLINE,
            (
                Field("unit", "Đơn vị xử lý", required=True, choices="units"),
                Field(
                    "due_on",
                    "Hạn của đơn vị (không bắt buộc)",
                    hint="Ngày/tháng/năm. Để trống: theo hạn trả lời của phản ánh.",
                ),
                NOTE,
            ),
            "ticket_assigned",
        ),
        ActionSpec(
            "wait",
            "Đề nghị người dân bổ sung thông tin",
            "Chờ bổ sung",
            HOTLINE,
            (
                Field(
                    "reason",
                    "Cần bổ sung gì (người dân thấy nội dung này)",
                    required=True,
                    multiline=True,
                    hint="Thời hạn tạm dừng trong khi chờ.",
                ),
                NOTE,
            ),
            "ticket_waiting",
        ),
        ActionSpec("resume", "Tiếp tục xử lý", "Tiếp tục xử lý", HOTLINE, (NOTE,), "ticket_resumed"),
        ActionSpec(
            "forward",
            "Chuyển cơ quan có thẩm quyền",
            "Chuyển đi",
            HOTLINE,
            (
                Field("agency", "Cơ quan nhận", required=True),
                Field("reason", "Lý do (người dân thấy nội dung này)", required=True, multiline=True),
                NOTE,
            ),
            "ticket_forwarded",
        ),
        ActionSpec(
            "reject",
            "Không thụ lý",
            "Không thụ lý",
            HOTLINE,
            (
                Field(
                    "reason",
                    "Lý do (người dân thấy nội dung này)",
                    required=True,
                    multiline=True,
                    hint="Ví dụ: khiếu nại, tố cáo được giải quyết theo thủ tục khác.",
                ),
                NOTE,
            ),
            "ticket_rejected",
            danger=True,
        ),
        ActionSpec(
            "mark-duplicate",
            "Đánh dấu trùng với phản ánh khác",
            "Đánh dấu trùng",
            HOTLINE,
            (
                Field("duplicate_of", "Mã phản ánh gốc", required=True, hint="Dạng PAKN-2026-7K3M-9QXD."),
                NOTE,
            ),
            "ticket_duplicate",
        ),
        ActionSpec("close", "Đóng phản ánh", "Đóng", STAFF, (NOTE,), "ticket_closed"),
        ActionSpec(
            "withdraw",
            "Gỡ câu trả lời khỏi Cổng thông tin và mọi kênh công khai",
            "Gỡ câu trả lời",
            APPROVER,
            (
                Field(
                    "reason",
                    "Lý do gỡ",
                    required=True,
                    multiline=True,
                    hint="Ghi vào diễn biến xử lý cùng tên bạn. Không thể đăng lại câu trả lời đã gỡ.",
                ),
            ),
            "ticket_withdrawn",
            danger=True,
        ),
        ActionSpec(
            "note",
            "Thêm ghi chú nội bộ",
            "Thêm ghi chú",
            STAFF,
            (Field("note", "Ghi chú nội bộ (không công khai)", required=True, multiline=True),),
            "note_added",
        ),
    )
}
ANSWER = ActionSpec(
    "answer",
    "Câu trả lời",
    "Lưu câu trả lời và xem bản công khai",
    HOTLINE,
    (
        Field("answer", "Câu trả lời của Sở", required=True, multiline=True),
        Field(
            "redact",
            "Cần ẩn thêm (không bắt buộc)",
            multiline=True,
            hint="Mỗi dòng một chuỗi sẽ bị ẩn khi công khai (tên, địa chỉ...). "
            "Số điện thoại, thư điện tử, số CMND/CCCD và tên người gửi luôn được ẩn.",
        ),
        NOTE,
    ),
    "ticket_answered",
)
APPROVE = ActionSpec(
    "approve", "Phê duyệt", "Phê duyệt đúng nội dung này", APPROVER, (NOTE,), "ticket_approved"
)
PUBLISH = ActionSpec(
    "publish", "Đăng công khai", "Đăng lên Cổng thông tin", APPROVER, (NOTE,), "ticket_published"
)
ALL_ACTIONS: dict[str, ActionSpec] = {**ACTIONS, "answer": ANSWER, "approve": APPROVE, "publish": PUBLISH}

_DUPLICATE = re.compile(r"^PAKN-?\d{4}-?(\d{6}|[0-9A-Z]{4}-?[0-9A-Z]{4})$")  # the API reads it exactly
MAX_TEXT = 2000
MAX_ANSWER = 10_000


def available(spec: ActionSpec, allowed: Iterable[str], roles: Iterable[Role | str]) -> bool:
    """The state allows it (the API's `allowed_actions`; a note is always allowed) and the
    person has one of the roles it needs."""
    mine = {Role(r) if not isinstance(r, Role) else r for r in roles}
    state_ok = spec.name == "note" or spec.name in set(allowed)
    return state_ok and bool(mine & set(spec.roles))


def actions_for(ticket: Mapping[str, Any], roles: Iterable[Role | str]) -> list[ActionSpec]:
    """The forms the ticket's page shows this person (answer, approve, publish: the composer)."""
    allowed = [str(a) for a in ticket.get("allowed_actions") or []]
    role_list = list(roles)
    return [spec for spec in ACTIONS.values() if available(spec, allowed, role_list)]


@dataclass(frozen=True)
class DeadlineMark:
    state: str  # overdue | today | on_time
    label: str  # the words: colour is never the only signal
    detail: str
    css: str


def deadline_mark(due_on: object, *, today: date | None = None) -> DeadlineMark | None:
    """How the due date (a day counted in working days by the API) compares with today in
    Vietnam; None when no clock runs."""
    due = due_on if isinstance(due_on, date) else read_date(str(due_on or ""))
    if due is None:
        return None
    today = today or today_in_vietnam()
    if due < today:
        days = (today - due).days
        return DeadlineMark(
            "overdue", "Quá hạn", f"hạn {vn_date(due)}, đã quá {days} ngày", "deadline-overdue"
        )
    if due == today:
        return DeadlineMark("today", "Đến hạn hôm nay", f"hạn {vn_date(due)}", "deadline-today")
    return DeadlineMark("on_time", "Còn hạn", f"hạn {vn_date(due)}", "deadline-ok")


def running_due_on(ticket: Mapping[str, Any]) -> str | None:
    """The due date of the clock that runs now (as the API's list computes `due_on`)."""
    status = ticket.get("status")
    if status == "received":
        return ticket.get("classify_due_on")
    if status == "accepted":
        return ticket.get("answer_due_on")
    if status == "assigned":
        return ticket.get("unit_due_on") or ticket.get("answer_due_on")
    if status == "answered":
        return ticket.get("answer_due_on")
    return None


def marked(text: str | None) -> Markup:
    """Plain text, escaped, one paragraph per line, each redaction inside <mark>."""
    paragraphs = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [escape(p) for p in line.split(REDACTED)]
        joined = Markup('<mark class="redacted">{}</mark>').format(REDACTED).join(parts)
        paragraphs.append(Markup("<p>") + joined + Markup("</p>"))
    return Markup("").join(paragraphs)


def redactions(*texts: str | None) -> int:
    return sum((t or "").count(REDACTED) for t in texts)


def portal_answer_page(portal_url: str, tracking_code: str) -> str:
    """The public answer on the portal: hoi-dap/<tracking code>.html (notifier's answer_page)."""
    return f"{portal_url.rstrip('/')}/hoi-dap/{page_name(tracking_code)}.html"


# -- reading the forms


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def read_action(
    spec: ActionSpec, form: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """(what was typed, the API's body, errors by field) for one action's small form."""
    typed = {f.name: _text(form, f.name) for f in spec.fields}
    errors: dict[str, str] = {}
    body: dict[str, Any] = {}
    for f in spec.fields:
        value = typed[f.name]
        limit = MAX_ANSWER if f.name == "answer" else MAX_TEXT
        if f.required and not value:
            errors[f.name] = f"Cần nhập {f.label[0].lower() + f.label[1:]}."
        elif len(value) > limit:
            errors[f.name] = f"Dài tối đa {limit} ký tự (hiện {len(value)})."
        elif f.name == "due_on" and value:
            day = read_date(value)
            if day is None:
                errors[f.name] = "Ngày chưa đúng: nhập ngày/tháng/năm, ví dụ 05/12/2026."
            elif day < today_in_vietnam():
                errors[f.name] = "Hạn của đơn vị không được trước hôm nay."
            else:
                body[f.name] = day.isoformat()
        elif f.name == "duplicate_of" and value:
            if not _DUPLICATE.match(value.upper()):
                errors[f.name] = "Mã phản ánh có dạng PAKN-2026-7K3M-9QXD."
            else:
                body[f.name] = value.upper()
        elif f.name == "redact":
            marks = list(dict.fromkeys(line.strip() for line in value.splitlines() if line.strip()))
            if len(marks) > 50 or any(len(m) > 300 for m in marks):
                errors[f.name] = "Tối đa 50 dòng, mỗi dòng tối đa 300 ký tự."
            elif marks:
                body[f.name] = marks
        elif value:
            body[f.name] = value
    return typed, body, errors


INTAKE_LABELS = {
    "kind": "Loại",
    "subject": "Tiêu đề",
    "body": "Nội dung người dân trình bày",
    "procedure_code": "Mã thủ tục liên quan",
    "name": "Họ và tên người gọi",
    "phone": "Số điện thoại",
    "email": "Thư điện tử",
    "address": "Địa chỉ",
    "consent_to_publish": "Đồng ý công khai",
    "channel": "Kênh tiếp nhận",
    "redact": "Cần ẩn thêm",
    "note": "Ghi chú nội bộ",
}
_INTAKE_LIMITS = {
    "subject": 300,
    "body": 10_000,
    "name": 200,
    "address": 500,
    "note": 2000,
    "procedure_code": 50,
}


def read_intake(form: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """(what was typed, POST /v1/tickets's body, errors by field) for a logged call."""
    names = [n for n in INTAKE_LABELS if n != "consent_to_publish"]
    typed = {n: _text(form, n) for n in names}
    typed["consent_to_publish"] = "1" if _text(form, "consent_to_publish") else ""
    typed["channel"] = typed["channel"] or "phone"
    errors: dict[str, str] = {}
    if typed["kind"] not in KIND_LABELS:
        errors["kind"] = "Chọn phản ánh hoặc kiến nghị."
    if typed["channel"] not in CHANNEL_LABELS:
        errors["channel"] = "Chọn kênh tiếp nhận."
    for name in ("subject", "body", "name"):
        if not typed[name]:
            errors[name] = f"Cần nhập {INTAKE_LABELS[name][0].lower() + INTAKE_LABELS[name][1:]}."
    for name, limit in _INTAKE_LIMITS.items():
        if len(typed[name]) > limit and name not in errors:
            errors[name] = f"Dài tối đa {limit} ký tự (hiện {len(typed[name])})."
    if not typed["phone"] and not typed["email"]:
        errors["phone"] = "Cần số điện thoại hoặc thư điện tử để Sở liên hệ lại."
    marks = list(dict.fromkeys(line.strip() for line in typed["redact"].splitlines() if line.strip()))
    if len(marks) > 50 or any(len(m) > 300 for m in marks):
        errors["redact"] = "Tối đa 50 dòng, mỗi dòng tối đa 300 ký tự."
    body: dict[str, Any] = {
        "kind": typed["kind"],
        "channel": typed["channel"],
        "subject": typed["subject"],
        "body": typed["body"],
        "name": typed["name"],
        "consent_to_publish": bool(typed["consent_to_publish"]),
        "redact": marks,
    }
    for name in ("procedure_code", "phone", "email", "address", "note"):
        if typed[name]:
            body[name] = typed[name]
    return typed, body, errors


def api_errors(errors: Iterable[Mapping[str, Any]], known: Iterable[str]) -> dict[str, str]:
    """An API 422's errors by the form's field ("redact.0" → "redact"); others under "form"."""
    names = set(known)
    out: dict[str, str] = {}
    for e in errors:
        first = str(e.get("field", "")).split(".", 1)[0]
        out.setdefault(first if first in names else "form", say(str(e.get("message", ""))))
    return out


_SAYINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^cannot ([\w-]+) a ticket that is (\w+); allowed now: (.*)$"), "state"),
    (re.compile(r"^the text changed after the preview was shown.*$"), "stale"),
    (re.compile(r"^the unit's due date is already past$"), "past"),
    (re.compile(r"^no ticket (\S+)$"), "missing"),
    (
        re.compile(
            r"^(mark it a duplicate of the original ticket instead|a ticket cannot be a duplicate of itself)$"
        ),
        "dup",
    ),
    (re.compile(r"^requires role: (.+)$"), "role"),
    (re.compile(r"^not one of the Department's units; pick one from the list$"), "unit"),
    (re.compile(r"^(.+) is retired; pick a unit in service$"), "retired"),
    (re.compile(r"^only a published answer can be withdrawn.*$"), "unpublished"),
)


def say(message: str) -> str:
    """An API message in Vietnamese when it is one we know; else as it came."""
    message = message.strip().removeprefix("Value error, ")
    for pattern, kind in _SAYINGS:
        match = pattern.match(message)
        if not match:
            continue
        if kind == "state":
            step = STEP_LABELS.get(match[1], match[1]).lower()
            status = STATUS_LABELS.get(match[2], match[2])
            return f"Không thể {step} khi phản ánh đang ở trạng thái “{status}”: có thể ai đó vừa xử lý nó."
        if kind == "stale":
            return "Nội dung công khai đã thay đổi sau khi bạn xem: hãy xem lại bản công khai rồi phê duyệt."
        if kind == "past":
            return "Hạn của đơn vị đã qua: chọn một ngày từ hôm nay."
        if kind == "missing":
            return f"Không có phản ánh mã {match[1]}."
        if kind == "dup":
            return "Hãy đánh dấu trùng với phản ánh gốc (không phải một phản ánh trùng hay chính nó)."
        if kind == "role":
            return "Việc này không thuộc vai trò của tài khoản bạn."
        if kind == "unit":
            return "Chọn một đơn vị trong danh sách đơn vị của Sở."
        if kind == "retired":
            return f"{match[1]} đã ngừng hoạt động: chọn đơn vị khác."
        if kind == "unpublished":
            return "Phản ánh này chưa có câu trả lời đăng công khai nên không có gì để gỡ."
    return message
