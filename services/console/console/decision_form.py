"""A publication decision as an editor's form, read into the procedures API's JSON and
back; the API's refusals in Vietnamese; and, once published, what each disclosure
channel shows of what it changed (from the notifier's deliveries). No framework here.

The rules are the procedures service's (its README, "The review of a decision"): the
checks below only spare a round trip and say it in Vietnamese; the API decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from console import procedure_form as pf
from minhbach_shared.text import slugify
from minhbach_shared.times import VIETNAM, parse_moment

ACTIONS = {
    "new": "Ban hành mới",
    "amend": "Sửa đổi, bổ sung",
    "replace": "Thay thế",
    "abolish": "Bãi bỏ",
}
STATUS_LABELS = {
    "draft": "Đang soạn",
    "submitted": "Chờ phê duyệt",
    "scheduled": "Đã ban hành, chờ ngày hiệu lực",
    "in_effect": "Đã có hiệu lực",
    "failed": "Không áp dụng được",
}
FIELD_LABELS = {
    "number": "Số quyết định",
    "title": "Trích yếu",
    "issuer": "Cơ quan ban hành",
    "signed_on": "Ngày ký",
    "effective_on": "Ngày có hiệu lực",
    "changes": "Các thay đổi",
}
# The notifier's channels as the Office calls them.
CHANNEL_LABELS = {
    "portal": "Cổng thông tin điện tử của Sở",
    "center": "Trung tâm Phục vụ hành chính công",
    "dvc": "Cổng dịch vụ công",
    "email": "Người đăng ký nhận tin",
}
# Channels that only write to the people who asked: no row means nobody to tell.
FOLLOWER_CHANNELS = frozenset({"email"})
MAX_CHANGES = 1000
# One blank row after the filled ones, for a code typed by hand.
SPARE_ROWS = 1


# -- dates: the native date input sends ISO; typed by hand, dd/mm/yyyy


_DMY = re.compile(r"^\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})\s*$")


def parse_date(raw: str) -> date | None:
    """2026-12-01 (the date input) or 01/12/2026 (typed); None when unreadable."""
    raw = raw.strip()
    try:
        return date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
    except ValueError:
        return None


def read_date(raw: str) -> date | None:
    if (iso := parse_date(raw)) is not None:
        return iso
    if match := _DMY.match(raw):
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


def input_value(raw: str) -> str:
    """What a date field shows: dd/mm/yyyy when the text is a date (2026-12-01 from the API
    too), else the text as typed, to be corrected."""
    found = read_date(raw)
    return vn_date(found) if found else raw


def today_in_vietnam(now: datetime | None = None) -> date:
    return (now or datetime.now(VIETNAM)).astimezone(VIETNAM).date()


def vn_date(value: date | str | None) -> str:
    if value is None or value == "":
        return ""
    found = value if isinstance(value, date) else read_date(str(value))
    return found.strftime("%d/%m/%Y") if found else str(value)


def effect_note(effective_on: str, *, today: date | None = None) -> str:
    """When publishing makes it take effect (a decision applies at 00:00 of effective_on, in Vietnam)."""
    day = read_date(effective_on)
    if day is None:
        return ""
    if day <= (today or today_in_vietnam()):
        return "Quyết định có hiệu lực ngay khi ban hành."
    return f"Quyết định có hiệu lực từ ngày {vn_date(day)}; đến ngày đó các kênh mới công khai thay đổi."


# -- the form


@dataclass
class ChangeRow:
    action: str = "new"
    procedure_code: str = ""
    replaced_by: str = ""

    def as_api(self) -> dict[str, str]:
        body = {"action": self.action, "procedure_code": self.procedure_code}
        if self.action == "replace":
            body["replaced_by"] = self.replaced_by
        return body


@dataclass
class DecisionDraft:
    """What the form holds: text as typed (dates too), and the change rows kept."""

    number: str = ""
    title: str = ""
    issuer: str = "Sở Xây dựng tỉnh Thái Bình"
    signed_on: str = ""
    effective_on: str = ""
    rows: list[ChangeRow] = field(default_factory=list)

    def codes(self) -> list[str]:
        return [r.procedure_code for r in self.rows]

    def shown_rows(self) -> list[ChangeRow]:
        """The rows the form shows: the kept ones and a blank one to type a code into."""
        return [*self.rows, *([ChangeRow()] * SPARE_ROWS)]


def _text(value: Any, limit: int = 2000) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _row_numbers(form: Mapping[str, Any]) -> list[int]:
    seen: set[int] = set()
    for key in form:
        if key.startswith("changes-"):
            number = key[len("changes-") :].split("-", 1)[0]
            if number.isdigit():
                seen.add(int(number))
    return sorted(seen)[:MAX_CHANGES]


def read_form(form: Mapping[str, Any]) -> DecisionDraft:
    """The posted form: blank rows and rows ticked "Bỏ" are dropped (so row i is change i)."""
    rows = []
    for i in _row_numbers(form):
        code = _text(form.get(f"changes-{i}-procedure_code"), 50)
        if not code or form.get(f"changes-{i}-remove"):
            continue
        action = _text(form.get(f"changes-{i}-action"))
        rows.append(
            ChangeRow(
                action=action if action in ACTIONS else "new",
                procedure_code=code,
                replaced_by=_text(form.get(f"changes-{i}-replaced_by"), 50),
            )
        )
    return DecisionDraft(
        number=_text(form.get("number"), 100),
        title=_text(form.get("title"), 500),
        issuer=_text(form.get("issuer"), 500),
        signed_on=_text(form.get("signed_on"), 20),
        effective_on=_text(form.get("effective_on"), 20),
        rows=rows,
    )


def add_change(draft: DecisionDraft, picked: str) -> str | None:
    """A "Thêm vào quyết định" button's value, `action:code`: the row is added (once). The
    code added, or None when the value is not one."""
    action, _, code = picked.partition(":")
    code = code.strip()
    if action not in ACTIONS or not code or len(code) > 50:
        return None
    if code not in draft.codes():
        draft.rows.append(ChangeRow(action=action, procedure_code=code))
    return code


def from_api(decision: Mapping[str, Any]) -> DecisionDraft:
    return DecisionDraft(
        number=str(decision.get("number") or ""),
        title=str(decision.get("title") or ""),
        issuer=str(decision.get("issuer") or ""),
        signed_on=str(decision.get("signed_on") or ""),
        effective_on=str(decision.get("effective_on") or ""),
        rows=[
            ChangeRow(
                action=str(c.get("action") or "new"),
                procedure_code=str(c.get("procedure_code") or ""),
                replaced_by=str(c.get("replaced_by") or ""),
            )
            for c in decision.get("changes") or []
        ],
    )


CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")


def check(draft: DecisionDraft) -> dict[str, str]:
    """What cannot even be sent, by field (`changes-N` for row N), in Vietnamese."""
    errors: dict[str, str] = {}
    for name, message in (
        ("number", "Cần nhập số quyết định (ví dụ 12/QĐ-SXD)."),
        ("title", "Cần nhập trích yếu của quyết định."),
        ("issuer", "Cần nhập cơ quan ban hành."),
    ):
        if not getattr(draft, name):
            errors[name] = message
    signed, effective = read_date(draft.signed_on), read_date(draft.effective_on)
    for name, raw, found in (
        ("signed_on", draft.signed_on, signed),
        ("effective_on", draft.effective_on, effective),
    ):
        if not raw:
            errors[name] = f"Cần nhập {FIELD_LABELS[name].lower()} (ngày/tháng/năm)."
        elif found is None:
            errors[name] = "Ngày không đúng: hãy nhập theo dạng ngày/tháng/năm, ví dụ 01/12/2026."
    if signed and effective and effective < signed:
        errors["effective_on"] = "Ngày có hiệu lực không được trước ngày ký."
    if not draft.rows:
        errors["changes"] = "Quyết định cần ít nhất một thay đổi: tìm thủ tục bên trên, hoặc nhập mã."
    seen: set[str] = set()
    for i, row in enumerate(draft.rows):
        if not CODE.match(row.procedure_code):
            errors[f"changes-{i}"] = "Mã thủ tục chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang."
        elif row.procedure_code in seen:
            errors[f"changes-{i}"] = f"Thủ tục {row.procedure_code} đã có ở một dòng khác."
        elif row.action == "replace" and not row.replaced_by:
            errors[f"changes-{i}"] = "Thay thế: cần nhập mã thủ tục thay thế."
        elif row.action == "replace" and not CODE.match(row.replaced_by):
            errors[f"changes-{i}"] = "Mã thủ tục thay thế không đúng dạng."
        seen.add(row.procedure_code)
    return errors


def to_api(draft: DecisionDraft) -> dict[str, Any]:
    """The API's body (call after `check` found nothing: the dates are readable)."""
    signed, effective = read_date(draft.signed_on), read_date(draft.effective_on)
    assert signed is not None and effective is not None
    return {
        "number": draft.number,
        "title": draft.title,
        "issuer": draft.issuer,
        "signed_on": signed.isoformat(),
        "effective_on": effective.isoformat(),
        "changes": [r.as_api() for r in draft.rows],
    }


_CHANGE_INDEX = re.compile(r"^changes(?:\.|\[)(\d+)")


def field_of(api_field: str) -> str:
    """The form's field for an API error's field: "changes.0.replaced_by" and "changes[0]"
    name row 0 ("changes-0"); "body" (the whole body) is the form."""
    if match := _CHANGE_INDEX.match(api_field):
        return f"changes-{match.group(1)}"
    first = re.split(r"[.\[]", api_field, maxsplit=1)[0]
    return first if first in FIELD_LABELS else "form"


# -- the API's refusals, in Vietnamese

_VERBS = {
    "edit": "sửa",
    "delete": "xoá",
    "submit": "trình",
    "send back": "trả lại",
    "publish": "ban hành",
    "publish it": "ban hành",
    "send it back": "trả lại",
}


def _status(value: str) -> str:
    return STATUS_LABELS.get(value, value)


def _components(names: str) -> str:
    return ", ".join(pf.LABELS.get(n.strip(), n.strip()) for n in names.split(","))


_TRANSLATIONS: tuple[tuple[re.Pattern[str], Any], ...] = tuple(
    (re.compile(pattern), say)
    for pattern, say in (
        (
            r"^you created decision (.+); another approver must (.+)$",
            lambda m: (
                f"Bạn là người tạo quyết định {m[1]}, nên không tự {_VERBS.get(m[2], m[2])} được: "
                "cần một lãnh đạo khác phê duyệt."
            ),
        ),
        (
            r"^you last edited decision (.+); another approver must (.+)$",
            lambda m: (
                f"Bạn là người sửa quyết định {m[1]} lần cuối, nên không tự "
                f"{_VERBS.get(m[2], m[2])} được: cần một lãnh đạo khác phê duyệt."
            ),
        ),
        (
            r"^cannot publish decision (.+): it is a draft.*$",
            lambda m: (
                f"Chưa ban hành được quyết định {m[1]}: quyết định còn là bản nháp, "
                "biên tập viên cần trình trước."
            ),
        ),
        (
            r"^cannot (edit|delete|submit|send back) decision (.+): it is (\w+);.*$",
            lambda m: (
                f"Không {_VERBS[m[1]]} được quyết định {m[2]}: quyết định đang ở trạng thái "
                f"“{_status(m[3])}”."
            ),
        ),
        (
            r"^decision (.+) is already published \((\w+)\)$",
            lambda m: f"Quyết định {m[1]} đã được ban hành (trạng thái “{_status(m[2])}”).",
        ),
        (
            r"^decision (.+) cannot be (submitted|published): (.+)$",
            lambda m: (
                f"Chưa {'trình' if m[2] == 'submitted' else 'ban hành'} được quyết định {m[1]}: "
                "có thay đổi chưa hợp lệ, xem từng dòng bên dưới."
            ),
        ),
        (r"^decision (\d+) not found$", lambda m: "Không tìm thấy quyết định này; có thể nó đã bị xoá."),
        (r"^procedure (\S+) not found$", lambda m: f"Không tìm thấy thủ tục mã {m[1]}."),
        (
            r"^missing mandatory components: (.+)$",
            lambda m: f"Còn thiếu thành phần bắt buộc: {_components(m[1])}.",
        ),
        (r"^procedure (\S+) does not exist$", lambda m: f"Không có thủ tục mã {m[1]}."),
        (
            r"^procedure (\S+) has already been in force; use amend$",
            lambda m: f"Thủ tục {m[1]} đã từng có hiệu lực: hãy chọn “Sửa đổi, bổ sung”.",
        ),
        (r"^procedure (\S+) is not in force$", lambda m: f"Thủ tục {m[1]} không đang có hiệu lực."),
        (
            r"^procedure (\S+) has no working draft to amend$",
            lambda m: f"Thủ tục {m[1]} chưa có bản nháp sửa đổi: hãy sửa thủ tục trước.",
        ),
        (
            r"^procedure (\S+) appears more than once in the decision$",
            lambda m: f"Thủ tục {m[1]} có ở hơn một dòng của quyết định.",
        ),
        (r"^replaced_by is required.*$", lambda m: "Thay thế: cần nhập mã thủ tục thay thế."),
        (r"^replaced_by is only allowed.*$", lambda m: "Chỉ nhập mã thủ tục thay thế khi chọn “Thay thế”."),
        (r"^procedure (\S+) cannot replace itself$", lambda m: f"Thủ tục {m[1]} không thể tự thay thế mình."),
        (
            r"^replacement procedure (\S+) does not exist$",
            lambda m: f"Không có thủ tục thay thế mã {m[1]}.",
        ),
        (
            r"^replacement procedure (\S+) leaves force in the same decision$",
            lambda m: f"Thủ tục thay thế {m[1]} lại hết hiệu lực trong cùng quyết định này.",
        ),
        (
            r"^replacement procedure (\S+) is not in force and this decision does not put it in force$",
            lambda m: f"Thủ tục thay thế {m[1]} chưa có hiệu lực, và quyết định này không ban hành nó.",
        ),
        (
            r"^effective_on cannot be before signed_on$",
            lambda m: "Ngày có hiệu lực không được trước ngày ký.",
        ),
        (r"^say why the decision goes back.*$", lambda m: "Hãy ghi lý do trả lại."),
        (r"^Field required$", lambda m: "Cần nhập."),
        (r"^String should have at most (\d+) characters?$", lambda m: f"Tối đa {m[1]} ký tự."),
        (r"^String should have at least 1 characters?$", lambda m: "Cần nhập."),
        (r"^Input should be a valid date.*$", lambda m: "Ngày không đúng (ngày/tháng/năm)."),
    )
)


def say(message: str) -> str:
    """An API message in Vietnamese when it is one we know; else as it came."""
    message = message.strip()
    message = message.removeprefix("Value error, ")
    for pattern, words in _TRANSLATIONS:
        if match := pattern.match(message):
            return str(words(match))
    return message


@dataclass
class ChangeProblem:
    message: str
    missing: list[str] = field(default_factory=list)  # component labels


def change_problems(errors: Iterable[Mapping[str, Any]]) -> dict[int, ChangeProblem]:
    """Submit's or publish's 422 (`errors: [{field: "changes[1]", procedure_code, missing,
    message}]`), by change index."""
    out: dict[int, ChangeProblem] = {}
    for error in errors:
        match = _CHANGE_INDEX.match(str(error.get("field", "")))
        if not match:
            continue
        missing = error.get("missing") or []
        labels = [pf.LABELS.get(str(m), str(m)) for m in missing] if isinstance(missing, list) else []
        out.setdefault(int(match.group(1)), ChangeProblem(say(str(error.get("message", ""))), labels))
    return out


def api_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """An API 422's errors as the form's fields, in Vietnamese (the first per field)."""
    out: dict[str, str] = {}
    for error in errors:
        out.setdefault(field_of(str(error.get("field", ""))), say(str(error.get("message", ""))))
    return out


# -- pages on the portal (the notifier names them: notifier.channels.pages.page_name)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")


def page_name(identifier: str) -> str:
    return identifier if _SAFE_NAME.match(identifier) else slugify(identifier)


def portal_page(portal_url: str, kind: str, identifier: str) -> str:
    folder = "thu-tuc" if kind == "procedure" else "quyet-dinh"
    return f"{portal_url.rstrip('/')}/{folder}/{page_name(identifier)}.html"


# -- the disclosure tracker


@dataclass
class Cell:
    """One channel's state for one subject, at (or past) the version the decision made."""

    channel: str
    label: str
    # done | none (nobody to tell) | waiting | retrying | dead | later (not in effect yet)
    state: str
    shown_at: str | None = None
    seconds: float | None = None
    error: str | None = None
    attempts: int = 0
    rows: int = 0

    @property
    def finished(self) -> bool:
        """Nothing more will happen by itself (dead waits for an operator's replay)."""
        return self.state in ("done", "none", "dead", "later")

    @property
    def ok(self) -> bool:
        return self.state in ("done", "none")

    @property
    def text(self) -> str:
        if self.state == "done":
            shown = _vn_moment(self.shown_at)
            after = f" (sau {_duration(self.seconds)})" if self.seconds is not None else ""
            return f"Đã công khai lúc {shown}{after}" if shown else "Đã công khai"
        return {
            "none": "Không có người đăng ký theo dõi: không cần gửi",
            "waiting": "Đang chờ gửi",
            "retrying": f"Gửi lỗi, đang thử lại (lần {self.attempts})",
            "dead": f"Gửi thất bại sau {self.attempts} lần: cần vận hành gửi lại",
            "later": "Chờ ngày hiệu lực",
        }.get(self.state, self.state)


def _vn_moment(value: str | None) -> str:
    moment = parse_moment(value)
    return moment.astimezone(VIETNAM).strftime("%H:%M:%S %d/%m/%Y") if moment else ""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{max(seconds, 0):.0f} giây"
    if seconds < 3600:
        return f"{seconds / 60:.0f} phút"
    return f"{seconds / 3600:.1f} giờ".replace(".", ",")


def cell_for(channel: str, deliveries: Iterable[Mapping[str, Any]], *, version: int) -> Cell:
    """The state of `channel` for a subject from its delivery rows (any status): the rows of
    `version` or newer count (a newer version shows this one's change too); superseded rows
    were made moot by a newer one and do not."""
    label = CHANNEL_LABELS.get(channel, channel)
    rows = [
        d
        for d in deliveries
        if d.get("channel") == channel
        and int(d.get("version") or 0) >= version
        and d.get("status") != "superseded"
    ]
    if not rows:
        return Cell(channel, label, "none" if channel in FOLLOWER_CHANNELS else "waiting")
    dead = [d for d in rows if d.get("status") == "dead"]
    pending = [d for d in rows if d.get("status") == "pending"]
    if dead:
        worst = max(dead, key=lambda d: int(d.get("attempts") or 0))
        return Cell(
            channel,
            label,
            "dead",
            error=worst.get("last_error"),
            attempts=int(worst.get("attempts") or 0),
            rows=len(rows),
        )
    if pending:
        failing = [d for d in pending if d.get("last_error")]
        if failing:
            worst = max(failing, key=lambda d: int(d.get("attempts") or 0))
            return Cell(
                channel,
                label,
                "retrying",
                error=worst.get("last_error"),
                attempts=int(worst.get("attempts") or 0),
                rows=len(rows),
            )
        return Cell(channel, label, "waiting", rows=len(rows))
    # Every row sent: shown when the last one was (for e-mail, the last follower's).
    sent = [d for d in rows if d.get("sent_at")]
    last = max(sent, key=lambda d: str(d.get("sent_at"))) if sent else rows[0]
    seconds = None
    sent_at, occurred_at = parse_moment(last.get("sent_at")), parse_moment(last.get("occurred_at"))
    if sent_at and occurred_at:
        seconds = max((sent_at - occurred_at).total_seconds(), 0.0)
    return Cell(channel, label, "done", shown_at=last.get("sent_at"), seconds=seconds, rows=len(rows))


@dataclass
class TrackedSubject:
    kind: str  # procedure | decision
    id: str
    title: str
    action: str  # the change's label, or "Quyết định"
    version: int | None  # the version the decision made; None: not in effect (yet)
    portal_page: str
    cells: list[Cell] = field(default_factory=list)
    note: str = ""

    def cell(self, channel: str) -> Cell | None:
        return next((c for c in self.cells if c.channel == channel), None)

    @property
    def finished(self) -> bool:
        return all(c.finished for c in self.cells)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cells)


@dataclass(frozen=True)
class Progress:
    done: int  # cells shown (or with nobody to tell)
    total: int  # cells due now (not those waiting for effective_on)
    failing: int  # cells whose last attempt failed (retrying) or that gave up (dead)
    all_done: bool
    finished: bool  # nothing left that will change by itself


def progress(subjects: list[TrackedSubject]) -> Progress:
    cells = [c for s in subjects for c in s.cells if c.state != "later"]
    return Progress(
        done=sum(1 for c in cells if c.ok),
        total=len(cells),
        failing=sum(1 for c in cells if c.state in ("retrying", "dead")),
        all_done=all(c.ok for c in cells),
        finished=all(c.finished for s in subjects for c in s.cells),
    )
