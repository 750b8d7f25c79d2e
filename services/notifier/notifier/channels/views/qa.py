"""View models of the hotline's subjects for the portal: the public Q&A and its statistics.

Every field is read by name from the contract's public fields (notifier/hotline/domain.py), so
nothing else an owner might send can reach a page; all of it is plain text, autoescaped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minhbach_shared.text import fold, nfc, slugify
from minhbach_shared.times import EPOCH, parse_moment
from notifier.channels.base import ReadModel
from notifier.disclosure.domain import SubjectState
from notifier.hotline.domain import STATISTICS_KEY, TICKET, is_public

QA_DIR = "hoi-dap"
STATS_PAGE = "thong-ke"
# The citizen's form and the tracking-code lookup: static pages that call the hotline API.
FORM_PAGE = "gui-phan-anh"
LOOKUP_PAGE = "tra-cuu"
RESERVED = frozenset({"index", STATS_PAGE, FORM_PAGE, LOOKUP_PAGE})
KINDS = {"phan_anh": "Phản ánh", "kien_nghi": "Kiến nghị"}
OTHER_GROUP = "Khác"
NO_UNIT = "Chưa giao đơn vị"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")


def _text(value: Any) -> str:
    return nfc(value).strip() if isinstance(value, str) else ""


def paragraphs(value: Any) -> list[str]:
    """Plain text to paragraphs, one per non-empty line (the template escapes each)."""
    return [line.strip() for line in _text(value).splitlines() if line.strip()]


def answer_page(ticket_id: str) -> str:
    """hoi-dap/<tracking code>.html; never a reserved name or a path."""
    stem = ticket_id if _SAFE_NAME.match(ticket_id) else slugify(ticket_id)
    if stem in ("", "-") or stem.lower() in RESERVED:
        stem = f"hoi-dap-{slugify(ticket_id)}"
    return stem


@dataclass
class AnswerView:
    id: str
    version: int
    page: str
    live: bool
    kind: str
    subject: str
    question: list[str]
    answer: list[str]
    procedure_code: str | None
    procedure_name: str
    procedure_page: str | None  # None when the procedure is not on the portal
    unit: str
    received_on: str
    answered_on: str
    published_on: str
    published_at: str
    search: str

    @property
    def sort_key(self) -> tuple[datetime, str]:
        # By the moment, not its text: owners may write it with another offset.
        return (parse_moment(self.published_at) or EPOCH, self.id)


def answer_view(
    subject: SubjectState,
    *,
    names: dict[str, str],
    page_of: Callable[[str], str],
    vn_date: Callable[[Any], str],
) -> AnswerView:
    s = subject.state
    code = _text(s.get("procedure_code")) or None
    view = AnswerView(
        id=subject.id,
        version=subject.version,
        page=answer_page(subject.id),
        live=is_public(s),
        kind=KINDS.get(str(s.get("kind")), "Phản ánh, kiến nghị"),
        subject=_text(s.get("subject")) or "(Không có tiêu đề)",
        question=paragraphs(s.get("question")),
        answer=paragraphs(s.get("answer")),
        procedure_code=code,
        procedure_name=names.get(code, "") if code else "",
        procedure_page=page_of(code) if code and code in names else None,
        unit=_text(s.get("unit")),
        received_on=vn_date(s.get("received_on")),
        answered_on=vn_date(s.get("answered_on")),
        published_on=vn_date(s.get("published_at")),
        published_at=_text(s.get("published_at")),
        search="",
    )
    view.search = fold(
        " ".join(
            [
                view.id,
                view.kind,
                view.subject,
                *view.question,
                *view.answer,
                view.unit,
                code or "",
                view.procedure_name,
            ]
        )
    )
    return view


@dataclass
class StatRow:
    label: str
    received: int = 0
    answered_on_time: int = 0
    answered_late: int = 0
    open_overdue: int = 0

    def add(self, row: dict[str, Any]) -> None:
        self.received += int(row.get("received", 0))
        self.answered_on_time += int(row.get("answered_on_time", 0))
        self.answered_late += int(row.get("answered_late", 0))
        self.open_overdue += int(row.get("open_overdue", 0))

    @property
    def on_time_rate(self) -> str:
        answered = self.answered_on_time + self.answered_late
        return f"{round(100 * self.answered_on_time / answered)}%" if answered else "—"


def _month_label(month: str) -> str:
    year, _, number = month.partition("-")
    return f"{number}/{year}" if number else month


@dataclass
class StatisticsView:
    version: int
    by_month: list[StatRow]
    by_unit: list[StatRow]
    detail: list[tuple[str, StatRow]]
    total: StatRow
    phones: list[str]
    office_hours: str


def statistics_view(subject: SubjectState) -> StatisticsView:
    s = subject.state
    months: dict[str, StatRow] = {}
    units: dict[str, StatRow] = {}
    total = StatRow("Tổng cộng")
    detail: list[tuple[str, StatRow]] = []
    for row in s.get("months") or []:
        month = _text(row.get("month"))
        unit = _text(row.get("unit")) or NO_UNIT
        months.setdefault(month, StatRow(_month_label(month))).add(row)
        units.setdefault(unit, StatRow(unit)).add(row)
        total.add(row)
        one = StatRow(unit)
        one.add(row)
        detail.append((_month_label(month), one))
    hotline = s.get("hotline") or {}
    return StatisticsView(
        version=subject.version,
        by_month=[months[m] for m in sorted(months, reverse=True)],
        by_unit=[units[u] for u in sorted(units, key=fold)],
        detail=detail,
        total=total,
        phones=[_text(p) for p in hotline.get("phones") or [] if _text(p)],
        office_hours=_text(hotline.get("office_hours")),
    )


@dataclass
class QASite:
    """The hotline's subjects of one read model, computed once per channel run."""

    answers: dict[str, AnswerView]
    statistics: StatisticsView | None
    _about: dict[str, list[AnswerView]] | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        model: ReadModel,
        *,
        names: dict[str, str],
        page_of: Callable[[str], str],
        vn_date: Callable[[Any], str],
    ) -> QASite:
        answers = {
            t.id: answer_view(t, names=names, page_of=page_of, vn_date=vn_date) for t in model.of_kind(TICKET)
        }
        stats = model.get(STATISTICS_KEY)
        return cls(answers, statistics_view(stats) if stats is not None else None)

    def live(self) -> list[AnswerView]:
        """The published answers, newest first."""
        return sorted((a for a in self.answers.values() if a.live), key=lambda a: a.sort_key, reverse=True)

    def groups(self) -> list[dict[str, Any]]:
        """Published answers by procedure (newest group first), those without one last, as "Khác"."""
        by_code: dict[str | None, list[AnswerView]] = defaultdict(list)
        for a in self.live():
            by_code[a.procedure_code].append(a)
        groups = [
            {
                "code": code,
                "name": items[0].procedure_name or code,
                "page": items[0].procedure_page,
                "answers": items,
            }
            for code, items in by_code.items()
            if code is not None
        ]
        if None in by_code:
            groups.append({"code": None, "name": OTHER_GROUP, "page": None, "answers": by_code[None]})
        return groups

    def about(self, code: str) -> list[AnswerView]:
        """The published answers about procedure `code`, newest first."""
        if self._about is None:
            index: dict[str, list[AnswerView]] = defaultdict(list)
            for a in self.live():
                if a.procedure_code:
                    index[a.procedure_code].append(a)
            self._about = dict(index)
        return self._about.get(code, [])
