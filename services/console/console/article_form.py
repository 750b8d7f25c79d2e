"""An article as the content desk's forms hold it, read into the content API's JSON and
back; the desk's states and categories in Vietnamese; publish times typed and shown in
Vietnam time (dd/mm/yyyy hh:mm); the API's unified diff as lines; the API's refusals in
Vietnamese; which actions a person may take. No framework here.

The rules are the content service's (its README, "Articles"): the checks below only
spare a round trip and say it in Vietnamese; the API decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minhbach_shared.times import VIETNAM, parse_moment

# The desk's states: the API's editorial states, with "published" split in two by
# whether a revision waits for its publish time (`scheduled_revision`).
STATE_LABELS = {
    "draft": "Bản nháp",
    "in_review": "Chờ duyệt",
    "scheduled": "Đã hẹn giờ đăng",
    "published": "Đang đăng",
    "unpublished": "Đã gỡ",
    "archived": "Lưu trữ",
}
# What each desk state asks GET /v1/desk/articles.
STATE_QUERIES: dict[str, dict[str, str]] = {
    "draft": {"state": "draft"},
    "in_review": {"state": "in_review"},
    "scheduled": {"state": "published", "scheduled": "true"},
    "published": {"state": "published", "scheduled": "false"},
    "unpublished": {"state": "unpublished"},
    "archived": {"state": "archived"},
}
PUBLIC_LABELS = {
    "published": "Đang hiển thị trên cổng",
    "scheduled": "Chờ đến giờ đăng",
    "unpublished": "Đã gỡ khỏi cổng",
    "expired": "Hết hạn, đã gỡ khỏi cổng",
}
NEVER_PUBLIC = "Chưa từng đăng"
CATEGORY_LABELS = {
    "news": "Tin tức",
    "initiatives": "Sáng kiến",
    "plans_reports": "Kế hoạch, báo cáo",
    "propaganda": "Pa-nô tuyên truyền",
}
# The portal's folder for each category (the notifier's pages).
PORTAL_FOLDERS = {
    "news": "tin-tuc",
    "initiatives": "sang-kien",
    "plans_reports": "ke-hoach-bao-cao",
    "propaganda": "tuyen-truyen",
}
FIELD_LABELS = {
    "title": "Tiêu đề",
    "summary": "Tóm tắt",
    "category": "Chuyên mục",
    "body": "Nội dung",
    "tags": "Từ khoá",
    "procedure_codes": "Thủ tục liên quan",
    "cover_image": "Ảnh đại diện",
    "attachments": "Tệp đính kèm",
    "cover_file": "Ảnh đại diện",
    "attachment_files": "Tệp đính kèm",
    "publish_at": "Thời điểm đăng",
    "expire_at": "Thời điểm gỡ",
    "reason": "Lý do trả lại",
    "form": "Biểu mẫu",
}
MAX_TITLE = 300
MAX_SUMMARY = 2000
MAX_BODY = 200_000
MAX_CODES = 50
MAX_TAGS = 30
MAX_ATTACHMENTS = 50
MAX_REASON = 2000
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def state_of(article: Mapping[str, Any]) -> str:
    """The desk state of an article (the API's draft or desk row)."""
    state = str(article.get("state") or "")
    if state == "published" and article.get("scheduled_revision"):
        return "scheduled"
    return state


def public_label(status: str | None) -> str:
    return PUBLIC_LABELS.get(status or "", NEVER_PUBLIC)


# -- moments: typed as dd/mm/yyyy hh:mm in Vietnam time, sent naive (the API reads Vietnam time)

_MOMENT = re.compile(
    r"^\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})(?:\s*,?\s+(\d{1,2})\s*[:hg.]\s*(\d{2}))?\s*$"
)


def read_moment(raw: str) -> datetime | None:
    """01/06/2030 08:00 (or 01/06/2030, at 00:00) as a naive Vietnam time; None when unreadable."""
    match = _MOMENT.match(raw)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups()[:3])
    hour, minute = (int(match[4]), int(match[5])) if match[4] else (0, 0)
    try:
        return datetime(year, month, day, hour, minute)
    except ValueError:
        return None


def vn_moment(value: object) -> str:
    """A moment the API returns (+07:00, or any offset), as dd/mm/yyyy hh:mm in Vietnam."""
    moment = parse_moment(value)
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M") if moment else ""


def now_in_vietnam() -> datetime:
    return datetime.now(VIETNAM).replace(tzinfo=None)


@dataclass
class Schedule:
    publish_at: str = ""
    expire_at: str = ""


def check_schedule(schedule: Schedule, *, now_intent: bool, now: datetime | None = None) -> dict[str, str]:
    """What cannot be sent: a time not readable, a publish time missing or past, an expiry
    before the publish time (the API says the same, in English)."""
    errors: dict[str, str] = {}
    now = now or now_in_vietnam()
    start = None
    if not now_intent:
        if not schedule.publish_at:
            errors["publish_at"] = "Cần nhập thời điểm đăng (ngày/tháng/năm giờ:phút), hoặc bấm “Đăng ngay”."
        elif (start := read_moment(schedule.publish_at)) is None:
            errors["publish_at"] = (
                "Thời điểm không đúng: nhập theo dạng ngày/tháng/năm giờ:phút, ví dụ 01/06/2030 08:00."
            )
        elif start <= now:
            errors["publish_at"] = (
                "Thời điểm đăng đã qua: hãy chọn một thời điểm sau bây giờ, hoặc bấm “Đăng ngay”."
            )
    if schedule.expire_at:
        end = read_moment(schedule.expire_at)
        if end is None:
            errors["expire_at"] = (
                "Thời điểm không đúng: nhập theo dạng ngày/tháng/năm giờ:phút, ví dụ 30/06/2030 17:00."
            )
        elif end <= max(start or now, now):
            errors["expire_at"] = "Thời điểm gỡ phải sau thời điểm đăng (và sau bây giờ)."
    return errors


def schedule_body(schedule: Schedule, *, now_intent: bool) -> dict[str, str]:
    """POST .../publish's body (after `check_schedule` found nothing)."""
    body: dict[str, str] = {}
    if not now_intent and (start := read_moment(schedule.publish_at)):
        body["publish_at"] = start.isoformat()
    if schedule.expire_at and (end := read_moment(schedule.expire_at)):
        body["expire_at"] = end.isoformat()
    return body


# -- the form


@dataclass
class Attached:
    id: str
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or f"Tệp {self.id[:12]}…"


@dataclass
class ArticleDraft:
    """What the editor's form holds: text as typed, the uploaded files by id."""

    title: str = ""
    summary: str = ""
    category: str = "news"
    body: str = ""
    tags: str = ""
    procedure_codes: str = ""
    cover: Attached | None = None
    attachments: list[Attached] = field(default_factory=list)


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _body(value: Any) -> str:
    # The body keeps its own spacing (Markdown); only the line ends are made one kind.
    return value.replace("\r\n", "\n")[:MAX_BODY] if isinstance(value, str) else ""


def split_list(raw: str) -> list[str]:
    """Codes or tags typed one a line or separated by commas (and, for codes, spaces)."""
    return [part.strip() for part in re.split(r"[,;\n]+", raw) if part.strip()]


def split_codes(raw: str) -> list[str]:
    return list(dict.fromkeys(p for p in re.split(r"[\s,;]+", raw) if p))


def add_code(codes: str, code: str) -> str:
    """The codes as typed, with `code` added once at the end (the picker's "Thêm")."""
    present = split_codes(codes)
    if code in present:
        return ", ".join(present)
    return ", ".join([*present, code])


def _attached(form: Mapping[str, Any], prefix: str) -> Attached | None:
    sha = _text(form.get(f"{prefix}id"), 64).lower()
    if not SHA256.match(sha) or form.get(f"{prefix}remove"):
        return None
    return Attached(sha, _text(form.get(f"{prefix}name"), 255))


def read_form(form: Mapping[str, Any]) -> ArticleDraft:
    """The posted form; files ticked "Bỏ" are dropped."""
    category = _text(form.get("category"), 20)
    attachments: list[Attached] = []
    for i in range(MAX_ATTACHMENTS):
        if f"attachment-{i}-id" not in form:
            break
        if (found := _attached(form, f"attachment-{i}-")) and found.id not in {a.id for a in attachments}:
            attachments.append(found)
    return ArticleDraft(
        title=_text(form.get("title"), MAX_TITLE + 100),
        summary=_text(form.get("summary"), MAX_SUMMARY + 100),
        category=category if category in CATEGORY_LABELS else "",
        body=_body(form.get("body")),
        tags=_text(form.get("tags"), 4000),
        procedure_codes=_text(form.get("procedure_codes"), 4000),
        cover=_attached(form, "cover-"),
        attachments=attachments,
    )


def from_api(content: Mapping[str, Any], names: Mapping[str, str] | None = None) -> ArticleDraft:
    """The newest revision's content (GET .../draft); `names`: file names known by id."""
    names = names or {}
    cover = content.get("cover_image")
    return ArticleDraft(
        title=str(content.get("title") or ""),
        summary=str(content.get("summary") or ""),
        category=str(content.get("category") or "news"),
        body=str(content.get("body") or ""),
        tags=", ".join(content.get("tags") or []),
        procedure_codes=", ".join(content.get("procedure_codes") or []),
        cover=Attached(str(cover), names.get(str(cover), "")) if cover else None,
        attachments=[Attached(str(a), names.get(str(a), "")) for a in content.get("attachments") or []],
    )


def check(draft: ArticleDraft) -> dict[str, str]:
    """What cannot even be sent, by field, in Vietnamese."""
    errors: dict[str, str] = {}
    if not draft.title:
        errors["title"] = "Cần nhập tiêu đề bài viết."
    elif len(draft.title) > MAX_TITLE:
        errors["title"] = f"Tiêu đề dài tối đa {MAX_TITLE} ký tự (hiện {len(draft.title)})."
    if len(draft.summary) > MAX_SUMMARY:
        errors["summary"] = f"Tóm tắt dài tối đa {MAX_SUMMARY} ký tự (hiện {len(draft.summary)})."
    if not draft.category:
        errors["category"] = "Hãy chọn chuyên mục."
    codes = split_codes(draft.procedure_codes)
    bad = [c for c in codes if not CODE.match(c)]
    if bad:
        errors["procedure_codes"] = (
            f"Mã không đúng dạng: {', '.join(bad[:5])}. "
            "Mã thủ tục chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang."
        )
    elif len(codes) > MAX_CODES:
        errors["procedure_codes"] = f"Tối đa {MAX_CODES} thủ tục liên quan."
    tags = split_list(draft.tags)
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"Tối đa {MAX_TAGS} từ khoá."
    elif any(len(t) > 60 for t in tags):
        errors["tags"] = "Mỗi từ khoá dài tối đa 60 ký tự."
    elif len({t.casefold() for t in tags}) != len(tags):
        errors["tags"] = "Có từ khoá bị lặp lại."
    return errors


def to_api(draft: ArticleDraft) -> dict[str, Any]:
    """POST /v1/articles's body, and PATCH's (every field: the form shows them all)."""
    body: dict[str, Any] = {
        "category": draft.category,
        "title": draft.title,
        "summary": draft.summary,
        "body": draft.body,
        "tags": split_list(draft.tags),
        "procedure_codes": split_codes(draft.procedure_codes),
        "attachments": [a.id for a in draft.attachments],
    }
    if draft.cover is not None:
        body["cover_image"] = draft.cover.id
    return body


_INDEXED = re.compile(r"^(\w+)(?:\[(\d+)\]|\.(\d+))")


def field_of(api_field: str) -> str:
    """The form's field for an API error's field ("procedure_codes[1]" names the codes'
    field; "body.title" the title); anything else is the form."""
    name = api_field.removeprefix("body.")
    if match := _INDEXED.match(name):
        name = match.group(1)
    name = re.split(r"[.\[]", name, maxsplit=1)[0]
    if name == "cover_image":
        return "cover_file"
    if name == "attachments":
        return "attachment_files"
    return name if name in FIELD_LABELS else "form"


def api_errors(
    errors: Iterable[Mapping[str, Any]],
    *,
    fields: Callable[[str], str] | None = None,
    words: Callable[[str], str] | None = None,
) -> dict[str, str]:
    """The content API's 422 errors by the form's field, in Vietnamese; the unknown
    procedure codes joined in one. `fields` and `words`: another content form's own
    (the documents'); this form's by default."""
    fields, words = fields or field_of, words or say
    out: dict[str, str] = {}
    unknown: list[str] = []
    for e in errors:
        name = fields(str(e.get("field", "")))
        if name == "procedure_codes" and e.get("code"):
            unknown.append(str(e["code"]))
            continue
        out.setdefault(name, words(str(e.get("message", ""))))
    if unknown:
        out["procedure_codes"] = f"Không có thủ tục mã {', '.join(unknown)}: hãy kiểm tra lại mã."
    return out


# -- the API's refusals, in Vietnamese

_ACTIONS = {
    "edit": "sửa",
    "restore": "khôi phục phiên bản",
    "submit": "trình duyệt",
    "publish": "đăng",
    "send back": "trả lại",
    "unpublish": "gỡ",
    "archive": "lưu trữ",
}
_STATE_WORDS = {
    "draft": "bản nháp",
    "in review": "chờ duyệt",
    "published": "đã duyệt đăng",
    "unpublished": "đã gỡ",
    "archived": "lưu trữ",
}


def _translate_upload(reason: str) -> str:
    if reason.startswith("file is empty"):
        return "Tệp trống: hãy chọn lại tệp."
    if match := re.match(r"^(?:file is )?larger than the limit of (.+?);", reason):
        return f"Tệp lớn hơn giới hạn {match[1]}: hãy chọn tệp nhỏ hơn."
    if reason.startswith("file content is"):
        return (
            "Tệp không đúng loại: chỉ nhận ảnh PNG, JPEG, GIF, WebP và tài liệu PDF "
            "(loại tệp được đọc từ nội dung, không theo tên)."
        )
    if reason.startswith("file starts like"):
        return "Tệp bị hỏng hoặc không trọn vẹn (đầu tệp và cuối tệp không khớp loại): hãy tải lên tệp gốc."
    return ""


_TRANSLATIONS: tuple[tuple[re.Pattern[str], Any], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (
            r"^cannot (edit|restore|submit|publish|send back|unpublish|archive) article \d+: it is ([a-z ]+?)"
            r"(?: \(public: \w+\))?; allowed now: .*$",
            lambda m: (
                f"Không {_ACTIONS.get(m[1], m[1])} được bài viết: bài đang ở trạng thái "
                f"“{_STATE_WORDS.get(m[2], m[2])}”."
            ),
        ),
        (
            r"^you wrote the last revision \((\d+)\) of article \d+; another approver must approve it$",
            lambda m: (
                f"Bạn là người viết phiên bản mới nhất ({m[1]}) của bài, nên không tự duyệt được: "
                "cần một lãnh đạo khác phê duyệt."
            ),
        ),
        (r"^article \d+ not found$", lambda m: "Không tìm thấy bài viết này; có thể địa chỉ đã sai."),
        (r"^article \d+ has no revision (\d+)$", lambda m: f"Bài viết không có phiên bản {m[1]}."),
        (
            r"^expire_at must be later than publish_at and than now$",
            lambda m: "Thời điểm gỡ phải sau thời điểm đăng (và sau bây giờ).",
        ),
        (
            r"^no attachment \w+; upload it first$",
            lambda m: "Tệp này chưa được tải lên: hãy chọn và tải lại.",
        ),
        (
            r"^must be an image \(PNG, JPEG, GIF or WebP\), not a PDF$",
            lambda m: "Ảnh đại diện phải là ảnh (PNG, JPEG, GIF hoặc WebP), không phải PDF.",
        ),
        (r"^no published procedure (\S+)$", lambda m: f"Không có thủ tục mã {m[1]}."),
        (
            r"^cannot verify procedure codes.*$",
            lambda m: "Chưa kiểm tra được mã thủ tục: dịch vụ thủ tục hành chính đang không phản hồi.",
        ),
        (r"^must not repeat an entry$", lambda m: "Có mục bị lặp lại."),
        (r"^Field required$", lambda m: "Cần nhập."),
        (r"^String should have at most (\d+) characters?$", lambda m: f"Tối đa {m[1]} ký tự."),
        (r"^String should have at least 1 characters?$", lambda m: "Cần nhập."),
        (r"^String should match pattern.*$", lambda m: "Không đúng dạng."),
        (r"^Input should be .*$", lambda m: "Giá trị không hợp lệ."),
    )
)


def say(message: str) -> str:
    """An API message in Vietnamese (left as it is when not known)."""
    message = message.strip()
    upload = message.removeprefix("attachment rejected: ").removeprefix("file: ")
    if translated := _translate_upload(upload):
        return translated
    for pattern, words in _TRANSLATIONS:
        if match := pattern.match(message):
            return str(words(match))
    return message


# -- the review: the API's unified diff as lines


@dataclass(frozen=True)
class DiffLine:
    kind: str  # field | hunk | added | removed | same
    text: str


def diff_lines(diff: str) -> list[DiffLine]:
    """GET .../revisions/{n}/diff's `diff`: each field's header, then its lines."""
    lines: list[DiffLine] = []
    for raw in diff.splitlines():
        if raw.startswith("--- "):
            name = raw[4:].split("@", 1)[0]
            lines.append(DiffLine("field", FIELD_LABELS.get(name, name)))
        elif raw.startswith("+++ "):
            continue
        elif raw.startswith("@@"):
            lines.append(DiffLine("hunk", raw))
        elif raw.startswith("+"):
            lines.append(DiffLine("added", raw[1:]))
        elif raw.startswith("-"):
            lines.append(DiffLine("removed", raw[1:]))
        else:
            lines.append(DiffLine("same", raw[1:] if raw.startswith(" ") else raw))
    return lines


def changed_labels(fields: Iterable[str]) -> list[str]:
    return [FIELD_LABELS.get(f, f) for f in fields]


# -- who may do what, now


@dataclass(frozen=True)
class Offer:
    """What the article page offers this person: the API's allowed actions and their roles."""

    edit: bool = False
    submit: bool = False
    restore: bool = False
    publish: bool = False
    own_revision: bool = False  # an approver who wrote the newest revision: another must approve
    send_back: bool = False
    unpublish: bool = False
    archive: bool = False


def offer(article: Mapping[str, Any], *, editor: bool, approver: bool, me: str) -> Offer:
    allowed = set(article.get("allowed_actions") or [])
    mine = article.get("head_author") == me
    return Offer(
        edit=editor and "edit" in allowed,
        submit=editor and "submit" in allowed,
        restore=editor and "restore" in allowed,
        publish=approver and "publish" in allowed and not mine,
        own_revision=approver and "publish" in allowed and mine,
        send_back=approver and "send_back" in allowed,
        unpublish=approver and "unpublish" in allowed,
        archive=approver and "archive" in allowed,
    )
