"""The operator's pages: the channels, the queues and their workers, the owners' outboxes,
reconciliation, and the deliveries that failed, with retry and resync; what needs attention
first; the reconciliation rounds that repaired something (each subject they sent again);
the disclosure report as a table (and as CSV); the log of every action.

The notifier and the owners own all of it: these pages read their APIs and call the
notifier's retry and resync as the signed-in operator (operations_health says it in
words). An owner that does not answer leaves its own row unread, not the page. Each
action is written to the console's own log (operator_log) after the notifier answered,
with what it answered."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from console import decision_form as df
from console import operations_health as oh
from console import operator_log
from console.accounts import CurrentSession
from console.operations_health import OWNERS, channel_label, duration, kind_label
from console.owners import OwnerRefused, OwnerUnavailable
from console.web import PREFIX, Form, console_of, owners_of, refused_page, render, requires, see_other
from minhbach_shared.auth import Role
from minhbach_shared.times import in_vietnam

router = APIRouter(prefix=f"{PREFIX}/operations")

OperatorOnly = requires(Role.OPERATOR)
DeliveryId = Path(ge=1, le=2**53)
ChannelName = Path(pattern=r"^[a-z][a-z0-9_-]{0,29}$")
LISTED = 200

HEALTH_LABELS = {"ok": "Bình thường", "degraded": "Có lượt gửi hỏng", "failing": "Đang gửi lỗi"}
STATE_LABELS = {"current": "Đã cập nhật", "stale": "Chậm phiên bản", "missing": "Chưa có"}
ACTION_LABELS = {
    "retry_delivery": "Thử lại một lượt gửi",
    "retry_channel": "Thử lại tất cả lượt gửi lỗi của kênh",
    "resync": "Đồng bộ lại kênh",
}
DOWN = "Không kết nối được dịch vụ công khai (kênh thông tin)."


def vn_minute(at: datetime) -> str:
    return in_vietnam(at).strftime("%d/%m/%Y %H:%M")


def _notifier(request: Request, session: CurrentSession, method: str, path: str, **kw: Any) -> Any:
    return owners_of(request).call("notifier", method, path, account=session.account, **kw)


# The notifier's answers the page cannot do without; the others (workers, reconciliation,
# each owner's outbox) only leave their own section unread.
CORE_READS = ("channels", "queues", "dead", "pending")


def _reads(request: Request, session: CurrentSession) -> dict[str, Callable[[], Any]]:
    owners, me = owners_of(request), session.account

    def notifier(path: str, **params: Any) -> Callable[[], Any]:
        return partial(owners.call, "notifier", "GET", path, account=me, params=params or None)

    return {
        "channels": notifier("/v1/channels"),
        "queues": notifier("/v1/ops/queues"),
        "dead": notifier("/v1/deliveries", status="dead", size=LISTED),
        "pending": notifier("/v1/deliveries", status="pending", size=LISTED),
        "workers": notifier("/v1/ops/workers"),
        "reconciliation": notifier("/v1/ops/reconciliation"),
        **{f"outbox:{o}": partial(owners.call, o, "GET", "/v1/ops/outbox", account=me) for o in OWNERS},
    }


async def _read_all(calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Every read at once (an owner that hangs costs the page one timeout, not one per
    read); each answer, or the OwnerUnavailable / OwnerRefused it ended in."""

    async def one(call: Callable[[], Any]) -> Any:
        try:
            return await run_in_threadpool(call)
        except (OwnerUnavailable, OwnerRefused) as failed:
            return failed

    answers = await asyncio.gather(*(one(call) for call in calls.values()))
    return dict(zip(calls, answers, strict=True))


def _links(request: Request, session: CurrentSession) -> oh.LinkFor:
    """A procedure or decision opens in the console for those who may see it there (editors,
    approvers); for an operator, on the portal, as the public sees it."""
    staff = session.account.has(Role.EDITOR, Role.APPROVER)
    portal_url = console_of(request).settings.portal_url

    def link(kind: str, subject_id: str) -> str | None:
        if kind not in ("procedure", "decision"):
            return None
        if staff:
            folder = "procedures" if kind == "procedure" else "decisions"
            return f"{PREFIX}/{folder}/{quote(subject_id, safe='')}"
        return df.portal_page(portal_url, kind, subject_id)

    return link


def _dashboard(answers: dict[str, Any], *, now: datetime, link_for: oh.LinkFor) -> dict[str, Any]:
    """The page's sections from what was read; OwnerRefused on a core read is raised (its page)."""
    seen: dict[str, Any] = {}
    core = [answers[k] for k in CORE_READS]
    for failed in core:
        if isinstance(failed, OwnerRefused):
            raise failed
    health = oh.Health()
    if not any(isinstance(a, OwnerUnavailable) for a in core):
        channels, queues, dead, pending = core
        failed_items = [d for d in pending["items"] if d.get("last_error")]
        health.channels = channels
        health.queues = oh.queue_views(queues["queues"], [c["name"] for c in channels])
        health.dead_total = dead["total"]
        seen.update(
            channels=channels,
            queues=queues,
            queue_views=health.queues,
            troubled=dead["items"] + failed_items,
            dead_total=dead["total"],
            more=dead["total"] > len(dead["items"]) or pending["total"] > len(pending["items"]),
            channel_runs={c["name"]: oh.moment(c.get("last_run_at"), now) for c in channels},
            channel_successes={c["name"]: oh.moment(c.get("last_success_at"), now) for c in channels},
        )
        workers = answers["workers"]
        if not isinstance(workers, Exception):
            health.workers = oh.worker_views(workers["workers"], now)
        reconciliation = answers["reconciliation"]
        if isinstance(reconciliation, Exception):
            health.reconciliation_read = False
        else:
            last = reconciliation.get("last")
            health.last_round = oh.round_view(last, now, link_for) if last else None
            repairs = reconciliation.get("repairs") or []
            seen.update(
                repairs_drift=sum(1 for r in repairs if not r.get("at_start")),
                repairs_at_start=sum(1 for r in repairs if r.get("at_start")),
                last_repair=oh.moment(repairs[0].get("finished_at"), now) if repairs else None,
            )
    for owner in OWNERS:
        answer = answers[f"outbox:{owner}"]
        if isinstance(answer, OwnerUnavailable):
            health.outboxes.append(oh.outbox_unreachable(owner))
        elif isinstance(answer, OwnerRefused):
            health.outboxes.append(oh.outbox_refused(owner, answer.status_code))
        else:
            health.outboxes.append(oh.outbox_view(owner, answer, now))
    return {**seen, "health": health, "attention": oh.attention(health)}


@router.get("", response_class=HTMLResponse)
async def dashboard(request: Request, session: CurrentSession = OperatorOnly) -> HTMLResponse:
    engine = console_of(request).engine
    log = await run_in_threadpool(operator_log.recent, engine)
    answers = await _read_all(_reads(request, session))
    now = datetime.now(UTC)
    seen = _dashboard(answers, now=now, link_for=_links(request, session))
    problem, status_code = "", 200
    if "channels" not in seen:
        problem, status_code = f"{DOWN} Chưa đọc được tình trạng các kênh; hãy thử lại sau ít phút.", 503
    return render(
        request,
        "operations.html",
        status_code=status_code,
        problem=problem,
        log=log,
        read_at=oh.moment(now, now),
        channel_label=channel_label,
        kind_label=kind_label,
        duration=duration,
        vn_minute=vn_minute,
        health_labels=HEALTH_LABELS,
        action_labels=ACTION_LABELS,
        slow_after=oh.duration(oh.OUTBOX_SLOW_S),
        **seen,
    )


def _cannot_read(request: Request, what: str) -> HTMLResponse:
    """503 with a page that says which reading failed and to try again shortly."""
    return render(
        request,
        "problem.html",
        status_code=503,
        title="Tạm thời chưa xem được",
        message=f"{DOWN} Chưa đọc được {what}; hãy thử lại sau ít phút.",
    )


@router.get("/reconciliation", response_class=HTMLResponse)
def reconciliation_page(request: Request, session: CurrentSession = OperatorOnly) -> HTMLResponse:
    try:
        answer = _notifier(request, session, "GET", "/v1/ops/reconciliation")
    except OwnerUnavailable:
        return _cannot_read(request, "kết quả đối soát")
    now, link_for = datetime.now(UTC), _links(request, session)
    last = answer.get("last")
    return render(
        request,
        "operations_reconciliation.html",
        last=oh.round_view(last, now, link_for) if last else None,
        repairs=[oh.round_view(r, now, link_for) for r in answer.get("repairs") or []],
        read_at=oh.moment(now, now),
        links_hint="Bấm vào một thủ tục hoặc quyết định để "
        + (
            "mở trang quản trị của nó."
            if session.account.has(Role.EDITOR, Role.APPROVER)
            else "xem trang của nó trên Cổng thông tin, như người dân thấy."
        ),
    )


def _act(
    request: Request,
    session: CurrentSession,
    *,
    action: str,
    target: str,
    path: str,
    done: str,
    said: Any,
) -> Response:
    """Call the notifier, write down what it answered, and say so."""
    try:
        answer = _notifier(request, session, "POST", path)
    except OwnerRefused as refused:
        _record(request, session, action, target, f"Bị từ chối ({refused.status_code}): {refused.detail}")
        return refused_page(request, refused, message=_refusal(refused))
    except OwnerUnavailable:
        return render(
            request,
            "problem.html",
            status_code=503,
            title="Tạm thời chưa làm được",
            message=f"{DOWN} Chưa có gì thay đổi; hãy thử lại sau ít phút.",
        )
    _record(request, session, action, target, said(answer))
    return see_other(f"{PREFIX}/operations", message=done)


def _refusal(refused: OwnerRefused) -> str:
    if refused.status_code == 404:
        return "Không tìm thấy lượt gửi hoặc kênh này (có thể đã bị xoá hoặc tên kênh không đúng)."
    if refused.status_code == 409:
        return (
            "Lượt gửi này không còn ở trạng thái lỗi (có thể đã được gửi hoặc thay bằng phiên bản mới), "
            "nên không cần thử lại. Hãy mở lại trang Vận hành."
        )
    return f"Dịch vụ công khai trả lời: {refused.detail}"


def _record(request: Request, session: CurrentSession, action: str, target: str, outcome: str) -> None:
    operator_log.record(
        console_of(request).engine,
        at=datetime.now(UTC),
        username=session.account.username,
        action=action,
        target=target,
        outcome=outcome,
    )


@router.post("/deliveries/{delivery_id}/retry", response_class=HTMLResponse)
def retry_delivery(
    request: Request, form: Form, delivery_id: int = DeliveryId, session: CurrentSession = OperatorOnly
) -> Response:
    return _act(
        request,
        session,
        action="retry_delivery",
        target=f"lượt gửi số {delivery_id}",
        path=f"/v1/deliveries/{delivery_id}/retry",
        done="delivery_retried",
        said=lambda d: (
            f"Đã đặt lại để gửi ngay ({kind_label(d['subject_kind'])} {d['subject_id']}, "
            f"phiên bản {d['version']}, {channel_label(d['channel'])})"
        ),
    )


@router.post("/channels/{name}/retry", response_class=HTMLResponse)
def retry_channel(
    request: Request, form: Form, name: str = ChannelName, session: CurrentSession = OperatorOnly
) -> Response:
    return _act(
        request,
        session,
        action="retry_channel",
        target=channel_label(name),
        path=f"/v1/channels/{name}/retry",
        done="channel_retried",
        said=lambda a: f"Đã đặt lại {a['retried']} lượt gửi lỗi để gửi ngay",
    )


@router.get("/resync/{name}", response_class=HTMLResponse)
def resync_page(
    request: Request, name: str = ChannelName, session: CurrentSession = OperatorOnly
) -> HTMLResponse:
    return render(request, "operations_resync.html", name=name, label=channel_label(name))


@router.post("/resync/{name}", response_class=HTMLResponse)
def resync(
    request: Request, form: Form, name: str = ChannelName, session: CurrentSession = OperatorOnly
) -> Response:
    return _act(
        request,
        session,
        action="resync",
        target=channel_label(name),
        path=f"/v1/channels/{name}/resync",
        done="channel_resynced",
        said=lambda a: f"Đã xếp {a['deliveries']} nội dung để gửi lại",
    )


# -- the disclosure report ---------------------------------------------------------------


def _report(
    request: Request, session: CurrentSession, kind: str, state: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The notifier's report and its rows as filtered: a kind, and `problems` (a stale or missing cell)."""
    report = _notifier(request, session, "GET", "/v1/disclosure/report")
    rows = [
        r
        for r in report["subjects"]
        if (not kind or r["kind"] == kind)
        and (state != "problems" or any(c["state"] != "current" for c in r["channels"].values()))
    ]
    return report, rows


Kind = Query("", max_length=30)
State = Query("all", pattern="^(all|problems)$")


@router.get("/report", response_class=HTMLResponse)
def report_page(
    request: Request, kind: str = Kind, state: str = State, session: CurrentSession = OperatorOnly
) -> HTMLResponse:
    try:
        report, rows = _report(request, session, kind, state)
    except OwnerUnavailable:
        return _cannot_read(request, "báo cáo công khai")
    kinds = sorted({r["kind"] for r in report["subjects"]} | ({kind} if kind else set()))
    return render(
        request,
        "operations_report.html",
        report=report,
        rows=rows,
        kind=kind,
        state=state,
        kinds=kinds,
        channel_label=channel_label,
        kind_label=kind_label,
        state_labels=STATE_LABELS,
        generated=vn_minute(_moment(report["generated_at"])),
    )


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _cell(text: str) -> str:
    """A spreadsheet never runs what a cell says: a leading =, +, - or @ is quoted."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


@router.get("/report.csv")
def report_csv(
    request: Request, kind: str = Kind, state: str = State, session: CurrentSession = OperatorOnly
) -> Response:
    try:
        report, rows = _report(request, session, kind, state)
    except OwnerUnavailable:
        return render(
            request,
            "problem.html",
            status_code=503,
            title="Tạm thời chưa tải được",
            message=f"{DOWN} Chưa tải được báo cáo; hãy thử lại sau ít phút.",
        )
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["Loại", "Mã", "Phiên bản hiện hành"]
    for name in report["channels"]:
        header += [f"{channel_label(name)}: phiên bản đã công khai", f"{channel_label(name)}: tình trạng"]
    writer.writerow(header)
    for r in rows:
        line = [kind_label(r["kind"]), _cell(str(r["id"])), str(r["version"])]
        for name in report["channels"]:
            c = r["channels"].get(name)
            if c is None:
                line += ["", "Không áp dụng"]
            else:
                line += ["" if c["version"] is None else str(c["version"]), STATE_LABELS[c["state"]]]
        writer.writerow(line)
    stamp = in_vietnam(_moment(report["generated_at"])).strftime("%Y%m%d-%H%M")
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="bao-cao-cong-khai-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )
