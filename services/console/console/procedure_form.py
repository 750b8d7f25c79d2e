"""A procedure as an editor's form: the components in the national form's order, read
from a posted form into the procedures API's JSON and back, the checklist of what is
still missing, and the difference between two versions. No framework here.

The mandatory-component rule is the procedures service's (domain.missing_components):
the API's `missing` list is the authority after each save; `missing_components` below
applies the same rule to what is on the form, for the checklist before saving.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minhbach_shared.components import COMPONENT_LABELS, PROCEDURE_COMPONENTS

LABELS = {"code": "Mã thủ tục", **COMPONENT_LABELS}
TEXT = ("name", "field", "level", "agency", "result")
# One line per row: the form shows the rows, and "Thêm dòng" adds one.
ROWS = ("subjects", "steps", "submission_methods", "forms", "requirements", "legal_basis")
# Components that may be an empty list ("Không có"), but must have been filled in.
MAY_BE_NONE = ("fees", "forms", "requirements")
TIME_UNITS = {"working_days": "ngày làm việc", "days": "ngày", "hours": "giờ", "months": "tháng"}
ONLINE_SERVICE = ("toàn trình", "một phần", "không")
LEVELS = ("Cấp tỉnh", "Cấp huyện", "Cấp xã", "Liên thông")
STATUS_LABELS = {
    "draft": "Bản nháp",
    "in_force": "Đang có hiệu lực",
    "replaced": "Đã bị thay thế",
    "abolished": "Đã bãi bỏ",
}
# Blank rows shown after the filled ones, so a row can be added without a script.
SPARE_ROWS = 1


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _indexed(form: Mapping[str, Any], prefix: str) -> list[int]:
    """The row numbers present for `prefix-N...` fields, in order."""
    seen: set[int] = set()
    for key in form:
        if key.startswith(prefix + "-"):
            number = key[len(prefix) + 1 :].split("-", 1)[0]
            if number.isdigit():
                seen.add(int(number))
    return sorted(seen)


def _count(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdigit() else None


def _amount(raw: str) -> int | str | None:
    """ "150.000" or "150000" đồng; "" → None (no amount); anything else is kept to be refused."""
    cleaned = raw.strip().replace(".", "").replace(" ", "").replace(",", "")
    if not cleaned:
        return None
    return int(cleaned) if cleaned.isdigit() else raw


@dataclass
class FormProblem:
    field: str
    message: str


def content_from_form(form: Mapping[str, Any]) -> tuple[dict[str, Any], list[FormProblem]]:
    """The procedures API's JSON for what the form holds (blank rows dropped, an empty
    component left out so the API counts it missing), and what cannot even be sent."""
    content: dict[str, Any] = {}
    problems: list[FormProblem] = []
    for name in TEXT:
        if value := _text(form.get(name)):
            content[name] = value
    if (online := _text(form.get("online_service"))) in ONLINE_SERVICE:
        content["online_service"] = online
    for name in ROWS:
        rows = [_text(form.get(f"{name}-{i}")) for i in _indexed(form, name)]
        rows = [r for r in rows if r]
        if rows:
            content[name] = rows
        elif name in MAY_BE_NONE and form.get(f"{name}-none"):
            content[name] = []
    items = []
    for i in _indexed(form, "dossier"):
        paper = _text(form.get(f"dossier-{i}-name"))
        if paper:
            items.append(
                {
                    "name": paper,
                    "originals": _count(str(form.get(f"dossier-{i}-originals", ""))),
                    "copies": _count(str(form.get(f"dossier-{i}-copies", ""))),
                }
            )
    sets = _count(str(form.get("dossier_sets", "")))
    if items or sets is not None:
        content["dossier"] = {"items": items, **({"sets": sets} if sets is not None else {})}
    time_value = _text(form.get("processing_time_value"))
    if time_value:
        if time_value.isdigit():
            unit = _text(form.get("processing_time_unit"))
            content["processing_time"] = {
                "value": int(time_value),
                "unit": unit if unit in TIME_UNITS else "working_days",
            }
        else:
            problems.append(FormProblem("processing_time", "Thời hạn giải quyết phải là một số (ví dụ 15)."))
    fees = []
    for i in _indexed(form, "fees"):
        fee_name = _text(form.get(f"fees-{i}-name"))
        amount = _amount(str(form.get(f"fees-{i}-amount", "")))
        if not fee_name and amount is None:
            continue
        if isinstance(amount, str):
            problems.append(
                FormProblem("fees", f"Dòng phí {i + 1}: số tiền phải là số đồng (ví dụ 150.000).")
            )
            continue
        if not fee_name:
            problems.append(FormProblem("fees", f"Dòng phí {i + 1}: cần ghi tên khoản phí, lệ phí."))
            continue
        fee: dict[str, Any] = {"name": fee_name, "amount_vnd": amount}
        if note := _text(form.get(f"fees-{i}-note")):
            fee["note"] = note
        fees.append(fee)
    if fees:
        content["fees"] = fees
    elif form.get("fees-none"):
        content["fees"] = []
    return content, problems


def missing_components(content: Mapping[str, Any]) -> list[str]:
    """The procedures service's rule, on what the form holds (see the module's docstring)."""
    missing = []
    for name in PROCEDURE_COMPONENTS:
        value = content.get(name)
        if name in ("processing_time", "fees", "forms", "requirements"):
            absent = value is None
        elif name == "dossier":
            absent = not (isinstance(value, Mapping) and value.get("items"))
        else:
            absent = not value
        if absent:
            missing.append(name)
    return missing


def form_rows(content: Mapping[str, Any]) -> dict[str, Any]:
    """What the form template shows for `content`: each repeatable component's rows, plus
    a spare blank one (more with `extra`)."""
    rows: dict[str, Any] = {name: list(content.get(name) or []) + [""] * SPARE_ROWS for name in ROWS}
    dossier = content.get("dossier") or {}
    rows["dossier"] = [
        {"name": i.get("name", ""), "originals": i.get("originals"), "copies": i.get("copies")}
        for i in dossier.get("items", [])
    ] + [{"name": "", "originals": None, "copies": None}] * SPARE_ROWS
    rows["dossier_sets"] = dossier.get("sets")
    rows["fees"] = [
        {"name": f.get("name", ""), "amount": _vnd(f.get("amount_vnd")), "note": f.get("note") or ""}
        for f in content.get("fees") or []
    ] + [{"name": "", "amount": "", "note": ""}] * SPARE_ROWS
    for name in MAY_BE_NONE:
        rows[f"{name}_none"] = content.get(name) == []
    return rows


def rows_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The rows exactly as typed (a refused form comes back with them, even the ones that
    could not be read), plus a spare blank one."""

    def raw(key: str) -> str:
        value = form.get(key)
        return value if isinstance(value, str) else ""

    rows: dict[str, Any] = {
        name: [raw(f"{name}-{i}") for i in _indexed(form, name) if raw(f"{name}-{i}").strip()]
        + [""] * SPARE_ROWS
        for name in ROWS
    }
    rows["dossier"] = [
        {
            "name": raw(f"dossier-{i}-name"),
            "originals": raw(f"dossier-{i}-originals"),
            "copies": raw(f"dossier-{i}-copies"),
        }
        for i in _indexed(form, "dossier")
        if any(raw(f"dossier-{i}-{k}").strip() for k in ("name", "originals", "copies"))
    ] + [{"name": "", "originals": None, "copies": None}] * SPARE_ROWS
    rows["dossier_sets"] = raw("dossier_sets")
    rows["fees"] = [
        {"name": raw(f"fees-{i}-name"), "amount": raw(f"fees-{i}-amount"), "note": raw(f"fees-{i}-note")}
        for i in _indexed(form, "fees")
        if any(raw(f"fees-{i}-{k}").strip() for k in ("name", "amount", "note"))
    ] + [{"name": "", "amount": "", "note": ""}] * SPARE_ROWS
    for name in MAY_BE_NONE:
        rows[f"{name}_none"] = bool(form.get(f"{name}-none"))
    return rows


def add_row(rows: dict[str, Any], component: str) -> None:
    if component == "dossier":
        rows["dossier"].append({"name": "", "originals": None, "copies": None})
    elif component == "fees":
        rows["fees"].append({"name": "", "amount": "", "note": ""})
    elif component in ROWS:
        rows[component].append("")


def _vnd(amount: Any) -> str:
    return f"{amount:,}".replace(",", ".") if isinstance(amount, int) else ""


def field_of(api_field: str) -> str:
    """The form's component for an API error's field ("fees.0.amount_vnd" → "fees")."""
    first = api_field.split(".", 1)[0]
    return first if first in LABELS else "form"


# -- the difference between two versions, component by component


def component_lines(content: Mapping[str, Any], name: str) -> list[str]:
    """A component as lines of plain text, the way a reader compares them."""
    value = content.get(name)
    if value is None:
        return []
    if name == "processing_time" and isinstance(value, Mapping):
        return [f"{value.get('value')} {TIME_UNITS.get(str(value.get('unit')), value.get('unit'))}"]
    if name == "fees" and isinstance(value, list):
        if not value:
            return ["Không"]
        return [_fee_line(f) for f in value]
    if name == "dossier" and isinstance(value, Mapping):
        lines = []
        for item in value.get("items", []):
            counts = [
                f"{item[k]} {label}"
                for k, label in (("originals", "bản chính"), ("copies", "bản sao"))
                if item.get(k) is not None
            ]
            lines.append(item.get("name", "") + (f" ({', '.join(counts)})" if counts else ""))
        if value.get("sets") is not None:
            lines.append(f"Số lượng hồ sơ: {value['sets']} bộ")
        return lines
    if isinstance(value, list):
        return [str(v) for v in value] or ["Không"]
    return [str(value)]


def _fee_line(fee: Mapping[str, Any]) -> str:
    amount = fee.get("amount_vnd")
    line = f"{fee.get('name', '')}: " + (f"{_vnd(amount)} đồng" if amount is not None else "không thu")
    return line + (f" ({fee['note']})" if fee.get("note") else "")


@dataclass
class LineChange:
    kind: str  # same | removed | added
    text: str


@dataclass
class ComponentDiff:
    name: str
    label: str
    changed: bool
    before: list[LineChange]
    after: list[LineChange]


def diff_contents(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[ComponentDiff]:
    """Every component, each side's lines marked removed / added / same."""
    out = []
    for name in PROCEDURE_COMPONENTS:
        old, new = component_lines(before, name), component_lines(after, name)
        left: list[LineChange] = []
        right: list[LineChange] = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
            if op == "equal":
                left += [LineChange("same", t) for t in old[i1:i2]]
                right += [LineChange("same", t) for t in new[j1:j2]]
            else:
                left += [LineChange("removed", t) for t in old[i1:i2]]
                right += [LineChange("added", t) for t in new[j1:j2]]
        out.append(ComponentDiff(name, LABELS[name], old != new, left, right))
    return out
