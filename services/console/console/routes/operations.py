"""The operator's pages: the channels, the queues and the deliveries that failed, with
retry and resync; the disclosure report as a table (and as CSV); the log of every action.

The notifier owns all of it: these pages read its API and call its retry and resync as
the signed-in operator. Each action is written to the console's own log (operator_log)
after the notifier answered, with what it answered."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from console import operator_log
from console.accounts import CurrentSession
from console.owners import OwnerRefused, OwnerUnavailable
from console.web import PREFIX, Form, console_of, owners_of, refused_page, render, requires, see_other
from minhbach_shared.auth import Role
from minhbach_shared.times import in_vietnam

router = APIRouter(prefix=f"{PREFIX}/operations")

OperatorOnly = requires(Role.OPERATOR)
DeliveryId = Path(ge=1, le=2**53)
ChannelName = Path(pattern=r"^[a-z][a-z0-9_-]{0,29}$")
LISTED = 200

CHANNEL_LABELS = {
    "portal": "Cổng thông tin",
    "center": "Trung tâm phục vụ hành chính công",
    "dvc": "Cổng dịch vụ công",
    "email": "Thư điện tử",
}
KIND_LABELS = {
    "procedure": "Thủ tục",
    "decision": "Quyết định",
    "article": "Tin bài",
    "document": "Văn bản",
    "ticket": "Hỏi đáp",
    "statistics": "Thống kê",
}
HEALTH_LABELS = {"ok": "Bình thường", "degraded": "Có lượt gửi hỏng", "failing": "Đang gửi lỗi"}
STATE_LABELS = {"current": "Đã cập nhật", "stale": "Chậm phiên bản", "missing": "Chưa có"}
ACTION_LABELS = {
    "retry_delivery": "Thử lại một lượt gửi",
    "retry_channel": "Thử lại tất cả lượt gửi lỗi của kênh",
    "resync": "Đồng bộ lại kênh",
}
DOWN = "Không kết nối được dịch vụ công khai (kênh thông tin)."


def channel_label(name: str) -> str:
    return CHANNEL_LABELS.get(name, name)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def duration(seconds: float | None) -> str:
    """'45 giây', '12 phút', '3 giờ 5 phút', '2 ngày 4 giờ'; empty for none."""
    if seconds is None:
        return ""
    s = int(seconds)
    if s < 60:
        return f"{s} giây"
    minutes, hours, days = s // 60 % 60, s // 3600 % 24, s // 86400
    if days:
        return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"
    if hours:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    return f"{minutes} phút"


def vn_minute(at: datetime) -> str:
    return in_vietnam(at).strftime("%d/%m/%Y %H:%M")


def _notifier(request: Request, session: CurrentSession, method: str, path: str, **kw: Any) -> Any:
    return owners_of(request).call("notifier", method, path, account=session.account, **kw)


def _read_dashboard(request: Request, session: CurrentSession) -> dict[str, Any]:
    channels = _notifier(request, session, "GET", "/v1/channels")
    queues = _notifier(request, session, "GET", "/v1/ops/queues")
    dead = _notifier(request, session, "GET", "/v1/deliveries", params={"status": "dead", "size": LISTED})
    pending = _notifier(
        request, session, "GET", "/v1/deliveries", params={"status": "pending", "size": LISTED}
    )
    failed = [d for d in pending["items"] if d.get("last_error")]
    return {
        "channels": channels,
        "queues": queues,
        "troubled": dead["items"] + failed,
        "dead_total": dead["total"],
        "more": dead["total"] > len(dead["items"]) or pending["total"] > len(pending["items"]),
    }


@router.get("", response_class=HTMLResponse)
async def dashboard(request: Request, session: CurrentSession = OperatorOnly) -> HTMLResponse:
    engine = console_of(request).engine
    log = await run_in_threadpool(operator_log.recent, engine)
    problem, status_code = "", 200
    seen: dict[str, Any] = {}
    try:
        seen = await run_in_threadpool(_read_dashboard, request, session)
    except OwnerUnavailable:
        problem, status_code = f"{DOWN} Chưa đọc được tình trạng các kênh; hãy thử lại sau ít phút.", 503
    return render(
        request,
        "operations.html",
        status_code=status_code,
        problem=problem,
        log=log,
        channel_label=channel_label,
        kind_label=kind_label,
        duration=duration,
        vn_minute=vn_minute,
        health_labels=HEALTH_LABELS,
        action_labels=ACTION_LABELS,
        **seen,
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
        return render(
            request,
            "problem.html",
            status_code=503,
            title="Tạm thời chưa xem được",
            message=f"{DOWN} Chưa đọc được báo cáo công khai; hãy thử lại sau ít phút.",
        )
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
