"""A directive or legal document as the documents desk's forms hold it, read into the
content API's JSON and back; its relations picked from the documents already filed; a
correction's history in Vietnamese (each changed field's old and new value); the API's
refusals in Vietnamese. No framework here.

The rules are the content service's (its README, "Documents"): the checks below only
spare a round trip and say it in Vietnamese; the API decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from console import article_form as af
from console.decision_form import input_value, read_date
from console.decision_form import vn_date as vn_date  # the pages' dates (dd/mm/yyyy)
from minhbach_shared.text import slugify

# The kinds of document the Department files; a document filed as another kind keeps it.
TYPES = (
    "Luật",
    "Nghị quyết",
    "Nghị định",
    "Quyết định",
    "Thông tư",
    "Chỉ thị",
    "Kế hoạch",
    "Công văn",
    "Thông báo",
    "Hướng dẫn",
    "Báo cáo",
)
RELATION_LABELS = {"amends": "Sửa đổi, bổ sung", "replaces": "Thay thế"}
# What others do to a document (the API's `related_by`).
INVERSE_LABELS = {"amended_by": "Được sửa đổi, bổ sung bởi", "replaced_by": "Được thay thế bởi"}
FIELD_LABELS = {
    "number": "Số, ký hiệu",
    "type": "Loại văn bản",
    "title": "Trích yếu",
    "issuer": "Cơ quan ban hành",
    "signed_on": "Ngày ký",
    "effective_on": "Ngày có hiệu lực",
    "summary": "Tóm tắt",
    "attachment": "Tệp văn bản",
    "attachment_file": "Tệp văn bản",
    "procedure_codes": "Thủ tục liên quan",
    "in_force": "Hiệu lực",
    "relations": "Quan hệ với văn bản đã nhập",
    "reason": "Lý do đính chính",
    "form": "Biểu mẫu",
}
IN_FORCE_LABELS = {True: "Còn hiệu lực", False: "Hết hiệu lực"}
# The content API's limits (schemas.DocumentCreate, DocumentCorrection).
MAX_NUMBER = 100
MAX_TYPE = 300
MAX_ISSUER = 300
MAX_TITLE = 1000
MAX_SUMMARY = 2000
MAX_REASON = 2000
MAX_RELATIONS = 50
NUMBER = re.compile(r"^[0-9A-Za-zÀ-ỹĐđ][0-9A-Za-zÀ-ỹĐđ./_-]{0,99}$")
# One blank relation row after the filled ones; "Thêm dòng" adds another without a script.
SPARE_ROWS = 1
EMPTY = "(trống)"
NONE = "(không có)"


def portal_page(portal_url: str, document: Mapping[str, Any]) -> str:
    """The document's page on the portal (the notifier's name for it: van-ban/<slug>.html,
    the id when the number gives no usable name)."""
    number = str(document.get("number") or "")
    stem = slugify(number) if number else ""
    if not stem or stem == "-":
        stem = f"van-ban-{document.get('id')}"
    return f"{portal_url.rstrip('/')}/van-ban/{stem}.html"


def in_force_label(value: Any) -> str:
    return IN_FORCE_LABELS.get(bool(value), "")


# -- the form


@dataclass
class RelationRow:
    kind: str = "amends"
    number: str = ""


@dataclass
class DocumentDraft:
    """What the form holds: text as typed (dates too), the scan by its id, the relations."""

    number: str = ""
    type: str = ""
    title: str = ""
    issuer: str = ""
    signed_on: str = ""
    effective_on: str = ""
    summary: str = ""
    procedure_codes: str = ""
    attachment: af.Attached | None = None
    relations: list[RelationRow] = field(default_factory=list)
    in_force: bool = True
    reason: str = ""

    def rows(self, spare: int = 0) -> list[RelationRow]:
        """The relation rows the form shows: the kept ones and blank ones to pick into."""
        return [*self.relations, *[RelationRow() for _ in range(SPARE_ROWS + spare)]]

    @property
    def signed_on_value(self) -> str:
        return input_value(self.signed_on)

    @property
    def effective_on_value(self) -> str:
        return input_value(self.effective_on)


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _row_numbers(form: Mapping[str, Any]) -> list[int]:
    seen: set[int] = set()
    for key in form:
        if key.startswith("relations-"):
            number = key[len("relations-") :].split("-", 1)[0]
            if number.isdigit():
                seen.add(int(number))
    return sorted(seen)[: MAX_RELATIONS + SPARE_ROWS + 5]


def read_form(form: Mapping[str, Any]) -> DocumentDraft:
    """The posted form: relation rows with no document picked, or ticked "Bỏ", are dropped
    (so row i is relation i); the scan ticked "Bỏ" too."""
    rows = []
    for i in _row_numbers(form):
        number = _text(form.get(f"relations-{i}-number"), MAX_NUMBER)
        if not number or form.get(f"relations-{i}-remove"):
            continue
        kind = _text(form.get(f"relations-{i}-kind"), 20)
        rows.append(RelationRow(kind=kind if kind in RELATION_LABELS else "amends", number=number))
    sha = _text(form.get("attachment-id"), 64).lower()
    attachment = None
    if af.SHA256.match(sha) and not form.get("attachment-remove"):
        attachment = af.Attached(sha, _text(form.get("attachment-name"), 255))
    return DocumentDraft(
        number=_text(form.get("number"), MAX_NUMBER + 20),
        type=_text(form.get("type"), MAX_TYPE + 20),
        title=_text(form.get("title"), MAX_TITLE + 100),
        issuer=_text(form.get("issuer"), MAX_ISSUER + 20),
        signed_on=_text(form.get("signed_on"), 20),
        effective_on=_text(form.get("effective_on"), 20),
        summary=_text(form.get("summary"), MAX_SUMMARY + 100),
        procedure_codes=_text(form.get("procedure_codes"), 4000),
        attachment=attachment,
        relations=rows,
        in_force=str(form.get("in_force", "1")) != "0",
        reason=_text(form.get("reason"), MAX_REASON + 100),
    )


def from_api(document: Mapping[str, Any]) -> DocumentDraft:
    """GET /v1/documents/{id}, as the correction form shows it."""
    attachment = document.get("attachment")
    return DocumentDraft(
        number=str(document.get("number") or ""),
        type=str(document.get("type") or ""),
        title=str(document.get("title") or ""),
        issuer=str(document.get("issuer") or ""),
        signed_on=str(document.get("signed_on") or ""),
        effective_on=str(document.get("effective_on") or ""),
        summary=str(document.get("summary") or ""),
        procedure_codes=", ".join(document.get("procedure_codes") or []),
        attachment=(
            af.Attached(str(attachment["id"]), str(attachment.get("filename") or "")) if attachment else None
        ),
        relations=[
            RelationRow(kind=str(r.get("kind")), number=str(r.get("number")))
            for r in document.get("relations") or []
        ],
        in_force=bool(document.get("in_force", True)),
    )


def check(draft: DocumentDraft, *, correcting: bool = False) -> dict[str, str]:
    """What cannot even be sent, by field (`relations-N` for row N), in Vietnamese."""
    errors: dict[str, str] = {}
    if not correcting:
        if not draft.number:
            errors["number"] = "Cần nhập số, ký hiệu của văn bản (ví dụ 15/KH-UBND)."
        elif not NUMBER.match(draft.number):
            errors["number"] = (
                "Số, ký hiệu chỉ gồm chữ, số và các dấu / . - _ (không có khoảng trắng), "
                "ví dụ 107/2021/NĐ-CP."
            )
    for name, limit, missing in (
        ("type", MAX_TYPE, "Hãy chọn loại văn bản."),
        ("title", MAX_TITLE, "Cần nhập trích yếu của văn bản."),
        ("issuer", MAX_ISSUER, "Cần nhập cơ quan ban hành."),
    ):
        value = getattr(draft, name)
        if not value:
            errors[name] = missing
        elif len(value) > limit:
            errors[name] = f"{FIELD_LABELS[name]} dài tối đa {limit} ký tự (hiện {len(value)})."
    signed, effective = read_date(draft.signed_on), read_date(draft.effective_on)
    if not draft.signed_on:
        errors["signed_on"] = "Cần nhập ngày ký (ngày/tháng/năm)."
    elif signed is None:
        errors["signed_on"] = "Ngày không đúng: hãy nhập theo dạng ngày/tháng/năm, ví dụ 07/02/2022."
    if draft.effective_on and effective is None:
        errors["effective_on"] = "Ngày không đúng: hãy nhập theo dạng ngày/tháng/năm, ví dụ 15/02/2022."
    if len(draft.summary) > MAX_SUMMARY:
        errors["summary"] = f"Tóm tắt dài tối đa {MAX_SUMMARY} ký tự (hiện {len(draft.summary)})."
    codes = af.split_codes(draft.procedure_codes)
    bad = [c for c in codes if not af.CODE.match(c)]
    if bad:
        errors["procedure_codes"] = (
            f"Mã không đúng dạng: {', '.join(bad[:5])}. "
            "Mã thủ tục chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang."
        )
    elif len(codes) > af.MAX_CODES:
        errors["procedure_codes"] = f"Tối đa {af.MAX_CODES} thủ tục liên quan."
    if not correcting:
        if len(draft.relations) > MAX_RELATIONS:
            errors["relations"] = f"Tối đa {MAX_RELATIONS} quan hệ."
        seen: set[tuple[str, str]] = set()
        for i, row in enumerate(draft.relations):
            if row.number == draft.number:
                errors[f"relations-{i}"] = "Văn bản không thể tự sửa đổi hay thay thế chính nó."
            elif (row.kind, row.number) in seen:
                errors[f"relations-{i}"] = f"{RELATION_LABELS[row.kind]} {row.number} đã có ở một dòng khác."
            seen.add((row.kind, row.number))
    if correcting:
        if not draft.reason:
            errors["reason"] = "Hãy ghi lý do đính chính; lý do được lưu trong lịch sử của văn bản."
        elif len(draft.reason) > MAX_REASON:
            errors["reason"] = f"Lý do dài tối đa {MAX_REASON} ký tự (hiện {len(draft.reason)})."
    return errors


def _fields(draft: DocumentDraft) -> dict[str, Any]:
    signed, effective = read_date(draft.signed_on), read_date(draft.effective_on)
    assert signed is not None
    return {
        "type": draft.type,
        "issuer": draft.issuer,
        "signed_on": signed.isoformat(),
        "effective_on": effective.isoformat() if effective else None,
        "title": draft.title,
        "summary": draft.summary,
        "attachment": draft.attachment.id if draft.attachment else None,
        "procedure_codes": af.split_codes(draft.procedure_codes),
    }


def to_create(draft: DocumentDraft) -> dict[str, Any]:
    """POST /v1/documents's body (call after `check` found nothing)."""
    return {
        "number": draft.number,
        **_fields(draft),
        "relations": [{"kind": r.kind, "number": r.number} for r in draft.relations],
    }


def to_correction(draft: DocumentDraft) -> dict[str, Any]:
    """PATCH /v1/documents/{id}'s body: every field the form shows (the API keeps, in the
    history, only those whose value changed) and the reason."""
    return {**_fields(draft), "in_force": draft.in_force, "reason": draft.reason}


_RELATION = re.compile(r"^(?:body\.)?relations(?:\[(\d+)\]|\.(\d+))")
UNCHANGED = "unchanged: it already has this value; nothing to correct"


def field_of(api_field: str) -> str:
    """The form's field for an API error's field: "relations[1].number" names row 1
    ("relations-1"); "attachment" the file's field; "body" (the whole body) is the form."""
    if match := _RELATION.match(api_field):
        return f"relations-{match.group(1) or match.group(2)}"
    name = api_field.removeprefix("body.")
    name = re.split(r"[.\[]", name, maxsplit=1)[0]
    if name == "attachment":
        return "attachment_file"
    return name if name in FIELD_LABELS else "form"


def nothing_changed(errors: Iterable[Mapping[str, Any]]) -> bool:
    """The API's 422 for a correction whose every field already has the value given."""
    found = list(errors)
    return bool(found) and all(str(e.get("message", "")).startswith("unchanged:") for e in found)


def api_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The API's 422 errors by the form's field, in Vietnamese (as the articles' form)."""
    return af.api_errors(errors, fields=field_of, words=say)


_TRANSLATIONS: tuple[tuple[re.Pattern[str], Any], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (r"^document (.+) already exists$", lambda m: f"Đã có văn bản số {m[1]}: mỗi số chỉ nhập một lần."),
        (r"^already exists$", lambda m: "Đã có văn bản mang số này: mỗi số chỉ nhập một lần."),
        (r"^document (.+) not found$", lambda m: "Không tìm thấy văn bản này; có thể địa chỉ đã sai."),
        (
            r"^no document (.+); file it first$",
            lambda m: f"Chưa có văn bản {m[1]}: hãy nhập văn bản đó trước.",
        ),
        (
            r"^a document cannot (amends|replaces) itself$",
            lambda m: "Văn bản không thể tự sửa đổi hay thay thế chính nó.",
        ),
        (r"^(amends|replaces) (.+) is listed twice$", lambda m: f"Văn bản {m[2]} đã có ở một dòng khác."),
        (
            r"^unchanged: .*$",
            lambda m: "Không khác giá trị hiện tại.",
        ),
        (r"^.*Extra inputs are not permitted$", lambda m: "Mục này không đính chính được."),
        (r"^Input should be a valid date.*$", lambda m: "Ngày không đúng (ngày/tháng/năm)."),
    )
)


def say(message: str) -> str:
    """An API message in Vietnamese (left as it is when not known)."""
    message = message.strip().removeprefix("Value error, ")
    for pattern, words in _TRANSLATIONS:
        if match := pattern.match(message):
            return str(words(match))
    return af.say(message)


# -- the list of filed documents, to pick a relation's target from


@dataclass(frozen=True)
class Choice:
    number: str
    label: str


def choices(documents: Iterable[Mapping[str, Any]], keep: Iterable[str] = ()) -> list[Choice]:
    """The filed documents as a select's options ("number · title"), and any number the
    form already holds that the list lacks (the list could not be read: nothing typed is lost)."""
    out: list[Choice] = []
    seen: set[str] = set()
    for d in documents:
        number = str(d["number"])
        title = str(d.get("title") or "")
        short = title if len(title) <= 90 else title[:89].rstrip() + "…"
        ended = "" if d.get("in_force", True) else " (hết hiệu lực)"
        out.append(Choice(number, f"{number} · {short}{ended}"))
        seen.add(number)
    out.extend(Choice(n, n) for n in dict.fromkeys(keep) if n and n not in seen)
    return out


# -- the history: each correction's changed fields, old and new, in Vietnamese


@dataclass(frozen=True)
class ChangeView:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class CorrectionView:
    version: int
    who: str
    username: str
    when: str
    reason: str
    changes: list[ChangeView]


def shown_value(name: str, value: Any, *, files: Mapping[str, str] | None = None) -> str:
    """A field's value as the history stores it (dates ISO), as a person reads it."""
    if name == "in_force":
        return in_force_label(value) if value is not None else EMPTY
    if name in ("signed_on", "effective_on"):
        return vn_date(str(value)) if value else EMPTY
    if name == "procedure_codes":
        return ", ".join(str(c) for c in value) if value else NONE
    if name == "attachment":
        if not value:
            return NONE
        return (files or {}).get(str(value)) or f"Tệp {str(value)[:12]}…"
    text = str(value) if value is not None else ""
    return text or EMPTY


def history(
    found: Mapping[str, Any], names: Mapping[str, str], *, files: Mapping[str, str] | None = None
) -> list[CorrectionView]:
    """GET /v1/documents/{id}/history's corrections (newest first), each changed field with
    its label, old and new value; `names`: the accounts' full names by username."""
    out = []
    for item in found.get("items") or []:
        who = str(item["corrected_by"])
        out.append(
            CorrectionView(
                version=int(item["version"]),
                who=names.get(who) or who,
                username=who,
                when=af.vn_moment(item["corrected_at"]),
                reason=str(item.get("reason") or ""),
                changes=[
                    ChangeView(
                        label=FIELD_LABELS.get(name, name),
                        before=shown_value(name, change.get("before"), files=files),
                        after=shown_value(name, change.get("after"), files=files),
                    )
                    for name, change in (item.get("changes") or {}).items()
                ],
            )
        )
    return out


def type_options(current: str = "") -> list[str]:
    """The kinds to choose from; a document filed as another kind keeps its own."""
    return [*TYPES, current] if current and current not in TYPES else list(TYPES)
