"""View models of the owners' procedures and decisions: what a page shows of each.

Computed from the read model at render time, for the portal's pages and feed, the
service centre's board and notices, and the subscribers' e-mails.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from minhbach_shared.components import COMPONENT_LABELS
from minhbach_shared.text import fold, nfc, slugify
from minhbach_shared.times import parse_moment
from notifier.channels.pages import as_text, as_texts, page_name, vn_date, vnd
from notifier.disclosure.domain import SubjectState

IN_FORCE = "in_force"
TIME_UNITS = {"working_days": "ngày làm việc", "days": "ngày", "hours": "giờ", "months": "tháng"}
ACTIONS = {
    "new": "Công bố mới",
    "amend": "Sửa đổi, bổ sung",
    "replace": "Thay thế",
    "abolish": "Bãi bỏ",
}
DECISION_STATUS = {"scheduled": "Sắp có hiệu lực", "in_effect": "Đang có hiệu lực", "draft": "Dự thảo"}

NO_FEE_AMOUNT = "Chưa có thông tin về mức thu"


def fee_view(raw: Any) -> dict[str, str]:
    """A fee as a reader sees it: its amount, its note (a tariff set elsewhere), or both."""
    if not isinstance(raw, dict):
        return {"name": as_text(raw), "amount": "", "note": "", "text": NO_FEE_AMOUNT}
    amount = vnd(raw.get("amount_vnd"))
    note = as_text(raw.get("note")).strip()
    text = f"{amount} ({note})" if amount and note else amount or note or NO_FEE_AMOUNT
    return {"name": as_text(raw.get("name")).strip(), "amount": amount, "note": note, "text": text}


@dataclass(frozen=True)
class Entry:
    """One change, for the home page and the Atom feed (frozen: the portal keeps each one's
    rendered XML by it)."""

    id: str
    title: str
    href: str
    updated: datetime
    summary: str
    # Among changes taking effect at the same moment (a day's decisions all take effect at
    # its midnight), the later decision's first: decision ids grow as decisions are made.
    decision_id: int = 0

    @functools.cached_property
    def _hash(self) -> int:
        return hash((self.id, self.title, self.href, self.updated, self.summary, self.decision_id))

    def __hash__(self) -> int:
        # Once per entry: a portal run looks up each of ~1,000 entries by it (its feeds'
        # rendered XML), and hashing the fields each time was 4 % of the run under load.
        return self._hash


def _dossier(raw: Any) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    items = []
    for item in raw.get("items") or []:
        if isinstance(item, str):
            items.append({"name": nfc(item), "originals": None, "copies": None})
        else:
            items.append(
                {
                    "name": as_text(item.get("name")),
                    "originals": item.get("originals"),
                    "copies": item.get("copies"),
                }
            )
    # Columns of originals and copies only when the procedure gives a count for some paper.
    counted = any(i["originals"] is not None or i["copies"] is not None for i in items)
    return {"items": items, "counted": counted, "sets": raw.get("sets", raw.get("copies"))}


def _processing_time(raw: Any) -> str:
    if not isinstance(raw, dict):
        return as_text(raw)
    if raw.get("value") is None:
        return ""
    unit = TIME_UNITS.get(str(raw.get("unit")), as_text(raw.get("unit")))
    return f"{raw.get('value')} {unit}".strip()


# -- what an amendment changed, in plain words ------------------------------------------


def change_lines(raw: Any) -> list[str] | None:
    """An amendment's changes as the owner gives them (procedures.amendments), one plain
    Vietnamese line per component ("Phí, lệ phí: «…» 150.000 đồng → 200.000 đồng");
    None when the owner gave none: another action, or a state older than the summaries."""
    if not isinstance(raw, list):
        return None
    return [line for c in raw if isinstance(c, dict) and (line := _change_line(c))]


def _change_line(change: dict[str, Any]) -> str:
    component = as_text(change.get("component"))
    before, after = change.get("before"), change.get("after")
    added, removed = change.get("added") or [], change.get("removed") or []
    pairs = [(c.get("before"), c.get("after")) for c in change.get("changed") or [] if isinstance(c, dict)]
    if component == "processing_time":
        parts = [_time_change(before, after)]
    elif component == "fees":
        parts = [f"{_fee(old)} → {_fee(new, after=old)}" for old, new in pairs]
        parts += [f"thêm «{_fee_line(f)}»" for f in added] + [f"bỏ «{_fee_line(f)}»" for f in removed]
    elif component == "dossier":
        parts = [f"«{_name(new)}»: {_counts(old)} → {_counts(new)}" for old, new in pairs]
        parts += [f"thêm «{_name(p)}»" for p in added] + [f"bỏ «{_name(p)}»" for p in removed]
        if before is not None or after is not None:
            parts.append(f"số lượng hồ sơ: {_or_dash(before)} → {_or_dash(after)} bộ")
    elif isinstance(before, list) or isinstance(after, list):
        parts = ["sắp xếp lại thứ tự"]  # the same items in another order
    elif added or removed:
        parts = [f"thêm «{as_text(i)}»" for i in added] + [f"bỏ «{as_text(i)}»" for i in removed]
    else:
        parts = [_value_change(as_text(before), as_text(after))]
    parts = [p for p in parts if p]
    if not parts:
        return ""
    return f"{COMPONENT_LABELS.get(component, component)}: {'; '.join(parts)}"


def _value_change(before: str, after: str) -> str:
    if before and after:
        return f"{before} → {after}"
    return f"bổ sung «{after}»" if after else f"bỏ «{before}»" if before else ""


def _time_change(before: Any, after: Any) -> str:
    old, new = _processing_time(before), _processing_time(after)
    if isinstance(before, dict) and isinstance(after, dict) and before.get("unit") == after.get("unit"):
        # "20 → 15 ngày làm việc": the unit once when it did not change.
        return f"{before.get('value')} → {new}" if old and new else _value_change(old, new)
    return _value_change(old, new)


def _name(item: Any) -> str:
    return as_text(item.get("name")) if isinstance(item, dict) else as_text(item)


def _fee(fee: Any, *, after: Any = None) -> str:
    """A fee's amount, named when it is renamed or first mentioned: «name» 150.000 đồng."""
    text = fee_view(fee)["text"]
    name = _name(fee)
    if after is not None and name == _name(after):
        return text  # the name was said on the left of the arrow
    return f"«{name}» {text}" if name else text


def _fee_line(fee: Any) -> str:
    view = fee_view(fee)
    return f"{view['name']}: {view['text']}" if view["name"] else view["text"]


def _counts(paper: Any) -> str:
    paper = paper if isinstance(paper, dict) else {}
    counts = [
        f"{paper[key]} {label}"
        for key, label in (("originals", "bản chính"), ("copies", "bản sao"))
        if paper.get(key) is not None
    ]
    return ", ".join(counts) or "không ghi số lượng"


def _or_dash(value: Any) -> str:
    return "—" if value is None else as_text(value)


def _history(raw: Any) -> list[dict[str, Any]]:
    out = []
    for h in raw or []:
        decision = h.get("decision") or {}
        out.append(
            {
                "version": h.get("version"),
                "action": ACTIONS.get(h.get("action", ""), as_text(h.get("action"))),
                "action_code": h.get("action"),
                "status": h.get("status"),
                "effective_at": parse_moment(h.get("effective_at")),
                "effective": vn_date(decision.get("effective_on") or h.get("effective_at")),
                "decision_id": decision.get("id"),
                "decision_number": as_text(decision.get("number")),
                "decision_title": as_text(decision.get("title")),
                "signed_on": vn_date(decision.get("signed_on")),
                "changes": change_lines(h.get("changes")),
                # Put in force in place of this procedure; `changes` compare with it.
                "replaces": as_text(h.get("replaces")) if h.get("replaces") else None,
                "replaces_page": page_name(str(h["replaces"])) if h.get("replaces") else None,
            }
        )
    return out


def procedure_view(subject: SubjectState, names: dict[str, str]) -> dict[str, Any]:
    s = subject.state
    history = _history(s.get("history"))
    status = s.get("status", IN_FORCE)
    # The decision that ended it is the newest history entry with the ending action.
    ending_action = {"abolished": "abolish", "replaced": "replace"}.get(status)
    ending = next((h for h in reversed(history) if h["action_code"] == ending_action), None)
    if ending is None and history and status != IN_FORCE:
        ending = history[-1]
    replaced_by = s.get("replaced_by")
    return {
        "code": as_text(s.get("code") or subject.id),
        "page": page_name(subject.id),
        "version": subject.version,
        "status": status,
        "in_force": status == IN_FORCE,
        "name": as_text(s.get("name")),
        "field": as_text(s.get("field")) or "Khác",
        "field_slug": slugify(as_text(s.get("field")) or "Khác"),
        "level": as_text(s.get("level")),
        "agency": as_text(s.get("agency")),
        "subjects": as_texts(s.get("subjects")),
        "steps": as_texts(s.get("steps")),
        "submission_methods": as_texts(s.get("submission_methods")),
        "dossier": _dossier(s.get("dossier")),
        "processing_time": _processing_time(s.get("processing_time")),
        "result": as_text(s.get("result")),
        "fees": [fee_view(f) for f in s.get("fees") or []],
        "forms": as_texts(s.get("forms")),
        "requirements": as_texts(s.get("requirements")),
        "legal_basis": as_texts(s.get("legal_basis")),
        "online_service": as_text(s.get("online_service")),
        "replaced_by": as_text(replaced_by) if replaced_by else None,
        "replaced_by_page": page_name(str(replaced_by)) if replaced_by else None,
        "replaced_by_name": names.get(str(replaced_by), "") if replaced_by else "",
        "ending": ending,
        "effective": vn_date(s.get("effective_at")),
        "history": history,
        # The version now in force, for "what is new" (None once it left force).
        "latest": history[-1] if history and status == IN_FORCE else None,
        "search": fold(f"{s.get('code', '')} {s.get('name', '')} {s.get('field', '')}"),
    }


class ProcedureViews:
    """procedure_view, remembered across runs per (code, version, replacement's name).

    Every run re-renders the index pages from every procedure, and most of them did not
    change since the last run: building their views again (parsing, folding) was the
    largest part of a one-change run at a thousand procedures. A view is never changed
    after it is built; a new version (or a renamed replacement) is a new key.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._views: dict[tuple[str, int, str], dict[str, Any]] = {}

    def __call__(self, subject: SubjectState, names: dict[str, str]) -> dict[str, Any]:
        replaced_by = subject.state.get("replaced_by")
        key = (subject.id, subject.version, names.get(str(replaced_by), "") if replaced_by else "")
        view = self._views.get(key)
        if view is None:
            if len(self._views) >= self.limit:
                self._views.clear()  # old versions pile up; start over rather than grow
            view = self._views[key] = procedure_view(subject, names)
        return view


def decision_view(subject: SubjectState) -> dict[str, Any]:
    s = subject.state
    status = s.get("status", "in_effect")
    changes = [
        {
            "action": ACTIONS.get(c.get("action", ""), as_text(c.get("action"))),
            "code": as_text(c.get("procedure_code")),
            "page": page_name(str(c.get("procedure_code", ""))),
            "name": as_text(c.get("procedure_name")),
            "replaced_by": as_text(c.get("replaced_by")) if c.get("replaced_by") else None,
            "replaced_by_page": page_name(str(c["replaced_by"])) if c.get("replaced_by") else None,
            "changes": change_lines(c.get("changes")),
            "replaces": as_text(c.get("replaces")) if c.get("replaces") else None,
        }
        for c in s.get("changes") or []
    ]
    return {
        "id": subject.id,
        "page": page_name(subject.id),
        "version": subject.version,
        "number": as_text(s.get("number")),
        "title": as_text(s.get("title")),
        "issuer": as_text(s.get("issuer")),
        "signed_on": vn_date(s.get("signed_on")),
        "effective_on": vn_date(s.get("effective_on")),
        "effective_on_iso": s.get("effective_on") or "",
        "status": status,
        "status_label": DECISION_STATUS.get(status, as_text(status)),
        "scheduled": status == "scheduled",
        "published_at": parse_moment(s.get("published_at")),
        "applied_at": parse_moment(s.get("applied_at")),
        "changes": changes,
    }


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def entries(procedures: Sequence[dict[str, Any]], decisions: Sequence[dict[str, Any]]) -> list[Entry]:
    """Every change of every procedure and decision, newest first."""
    applied = applied_at(decisions)
    out = [e for p in procedures for e in procedure_entries(p, applied)]
    out += [decision_entry(d) for d in decisions]
    out.sort(key=entry_order, reverse=True)
    return out


def entry_order(e: Entry) -> tuple[datetime, int, str]:
    return (e.updated, e.decision_id, e.id)


def applied_at(decisions: Iterable[dict[str, Any]]) -> dict[str, datetime]:
    """When each applied decision was applied, by id."""
    return {str(d["id"]): d["applied_at"] for d in decisions if d["applied_at"]}


def procedure_entries(p: dict[str, Any], applied: Mapping[str, datetime]) -> list[Entry]:
    """The procedure's changes, one per version of its history."""
    out = []
    # A procedure changed when its decision was applied (a decision published at 14:00 and
    # in effect from today changed it at 14:00, not at midnight): its changes sit with it.
    for h in p["history"]:
        decision = f" theo Quyết định số {h['decision_number']}" if h["decision_number"] else ""
        against = f"So với thủ tục {h['replaces']}" if h.get("replaces") else "Thay đổi"
        changed = f" {against}: {'; '.join(h['changes'])}." if h.get("changes") else ""
        out.append(
            Entry(
                id=f"urn:minhbach:procedure:{p['code']}:v{h['version']}",
                title=f"{h['action']}: {p['name']} (phiên bản {h['version']})",
                href=f"thu-tuc/{p['page']}.html",
                updated=applied.get(str(h["decision_id"])) or h["effective_at"] or EPOCH,
                summary=f"Thủ tục {p['code']} — {h['action'].lower()}{decision}, "
                f"hiệu lực từ ngày {h['effective']}.{changed}",
                decision_id=int(h["decision_id"] or 0),
            )
        )
    return out


def decision_entry(d: dict[str, Any]) -> Entry:
    label = "có hiệu lực" if d["status"] == "in_effect" else "sắp có hiệu lực"
    return Entry(
        id=f"urn:minhbach:decision:{d['id']}:v{d['version']}",
        title=f"Quyết định số {d['number']}: {d['title']}",
        href=f"quyet-dinh/{d['page']}.html",
        updated=d["applied_at"] or d["published_at"] or EPOCH,
        summary=f"Quyết định số {d['number']} ({label} từ ngày {d['effective_on']}, "
        f"phiên bản {d['version']}), {len(d['changes'])} thủ tục.",
        decision_id=int(d["id"]),
    )
