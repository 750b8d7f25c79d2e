"""Việc cần làm: what waits for this person, by role, from the owners' APIs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from console import hotline_desk as hd
from console.owners import OwnerRefused, OwnerUnavailable
from console.web import PREFIX, Signed, console_of, render
from minhbach_shared.auth import Role

router = APIRouter(prefix=PREFIX)


@dataclass
class Section:
    title: str
    items: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""
    empty: str = "Không có gì."


def _load(section: Section, fetch: Any) -> Section:
    try:
        section.items = fetch()
    except OwnerUnavailable as down:
        section.problem = f"Chưa tải được: {down.label} đang không phản hồi. Hãy tải lại trang sau ít phút."
    except OwnerRefused as refused:
        section.problem = f"Chưa tải được ({refused.detail})."
    return section


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: Signed) -> HTMLResponse:
    owners = console_of(request).owners
    me = session.account
    sections: list[Section] = []

    def decisions(status: str) -> list[dict[str, Any]]:
        page = owners.call(
            "procedures", "GET", "/v1/decisions", account=me, params={"status": status, "size": 100}
        )
        return list(page["items"])

    if me.has(Role.EDITOR):

        def my_drafts() -> list[dict[str, Any]]:
            page = owners.call(
                "procedures", "GET", "/v1/procedures", account=me, params={"status": "draft", "size": 100}
            )
            return [p for p in page["items"] if p.get("edited_by") in (None, me.username)]

        sections.append(_load(Section("Thủ tục tôi đang soạn", empty="Không có bản nháp nào."), my_drafts))
        sections.append(
            _load(
                Section("Quyết định đang soạn hoặc bị trả lại", empty="Không có quyết định nháp."),
                lambda: decisions("draft"),
            )
        )
    if me.has(Role.APPROVER):
        sections.append(
            _load(
                Section("Quyết định chờ tôi phê duyệt", empty="Không có quyết định nào chờ duyệt."),
                # Four eyes, as the API: not the ones they created or last edited.
                lambda: [
                    d
                    for d in decisions("submitted")
                    if me.username not in (d.get("created_by"), d.get("edited_by"))
                ],
            )
        )
    if me.has(Role.EDITOR, Role.APPROVER):
        sections.append(
            _load(
                Section("Quyết định đã duyệt, chờ ngày hiệu lực", empty="Không có."),
                lambda: decisions("scheduled"),
            )
        )

    def articles(state: str) -> list[dict[str, Any]]:
        page = owners.call(
            "content", "GET", "/v1/desk/articles", account=me, params={"state": state, "size": 100}
        )
        return [{**a, "task": "article"} for a in page["items"]]

    if me.has(Role.EDITOR):
        sections.append(
            _load(
                Section("Bài viết tôi đang soạn", empty="Không có bài nháp nào."),
                lambda: [a for a in articles("draft") if a.get("head_author") == me.username],
            )
        )
    if me.has(Role.APPROVER):
        sections.append(
            _load(
                Section("Bài viết chờ tôi duyệt", empty="Không có bài nào chờ duyệt."),
                # Four eyes, as the API: not the ones whose newest revision they wrote.
                lambda: [a for a in articles("in_review") if a.get("head_author") != me.username],
            )
        )

    def tickets(statuses: list[str], *, due_only: bool = False) -> list[dict[str, Any]]:
        page = owners.call(
            "hotline",
            "GET",
            "/v1/tickets",
            account=me,
            params={"status": statuses, "order": "due", "size": 100},
        )
        today = hd.today_in_vietnam()
        out = []
        for t in page["items"]:
            mark = hd.deadline_mark(t.get("due_on"), today=today)
            if due_only and (mark is None or mark.state == "on_time"):
                continue
            out.append({**t, "task": "ticket", "mark": mark})
        return out

    if me.has(Role.HOTLINE):
        sections.append(
            _load(
                Section("Phản ánh quá hạn hoặc đến hạn hôm nay", empty="Không có phản ánh nào sắp quá hạn."),
                lambda: tickets(list(hd.OPEN_STATUSES), due_only=True),
            )
        )
    if me.has(Role.APPROVER):
        sections.append(
            _load(
                Section(
                    "Câu trả lời phản ánh chờ tôi duyệt hoặc đăng", empty="Không có câu trả lời nào chờ."
                ),
                lambda: tickets(["answered", "approved"]),
            )
        )
    if me.has(Role.OPERATOR):  # every delivery is an operator's to list (the notifier)

        def undelivered() -> list[dict[str, Any]]:
            # Dead (given up), and pending ones whose last attempt failed (being retried).
            items: list[dict[str, Any]] = []
            for status in ("dead", "pending"):
                page = owners.call(
                    "notifier", "GET", "/v1/deliveries", account=me, params={"status": status, "size": 100}
                )
                items.extend(d for d in page["items"] if status == "dead" or d.get("last_error"))
            return items

        sections.append(
            _load(
                Section("Chưa đến được kênh công khai", empty="Mọi thay đổi đều đã đến đủ các kênh."),
                undelivered,
            )
        )
    return render(request, "home.html", sections=sections)
