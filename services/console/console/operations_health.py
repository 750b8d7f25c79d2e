"""What the operator's pages say about the system, in words: the channels' and queues' names,
how long ago something happened, each worker, each owner's outbox, each reconciliation round,
and what needs attention first. Pure: the routes read the notifier and the owners, this
shapes what they answered (or that they did not)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from console.owners import OWNER_LABELS
from minhbach_shared.times import in_vietnam, parse_moment

# The owners whose outbox the page shows, in the order of the menu.
OWNERS = ("procedures", "content", "hotline")
# A relay sends within a second or two: an event older than this waits on a stopped relay
# (or one that cannot reach Redis).
OUTBOX_SLOW_S = 60.0
# Under this, "vừa xong" rather than a count of seconds.
JUST_NOW_S = 5.0

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
# What each queue is for, as the operator would say it; the technical name stays beside it
# (it is what the commands and the logs use).
QUEUE_LABELS = {
    "events": "Nhận thay đổi từ các dịch vụ",
    "notifier": "Việc định kỳ của dịch vụ công khai",
    "channel.portal": "Gửi lên Cổng thông tin",
    "channel.center": "Gửi lên Trung tâm phục vụ hành chính công",
    "channel.dvc": "Gửi lên Cổng dịch vụ công",
    "channel.email": "Gửi thư điện tử",
    "procedures": "Quyết định đến ngày hiệu lực (dịch vụ thủ tục)",
    "content": "Đăng và gỡ tin bài theo lịch (dịch vụ tin bài)",
    "hotline": "Nhắc hạn trả lời phản ánh (dịch vụ đường dây nóng)",
}


def channel_label(name: str) -> str:
    return CHANNEL_LABELS.get(name, name)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def queue_label(name: str) -> str:
    return QUEUE_LABELS.get(name, name)


def owner_label(owner: str) -> str:
    """'Dịch vụ thủ tục hành chính': the owner as a row's name."""
    label = OWNER_LABELS.get(owner, owner)
    return label[:1].upper() + label[1:]


def duration(seconds: float | None) -> str:
    """'45 giây', '12 phút', '3 giờ 5 phút', '2 ngày 4 giờ'; empty for none."""
    if seconds is None:
        return ""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s} giây"
    minutes, hours, days = s // 60 % 60, s // 3600 % 24, s // 86400
    if days:
        return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"
    if hours:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    return f"{minutes} phút"


@dataclass(frozen=True)
class Moment:
    """A moment as the page says it: how long ago, and when on Vietnam's clock."""

    iso: str
    ago: str
    at: str


def moment(value: object, now: datetime) -> Moment | None:
    """None for no moment (or one that cannot be read): the page says "chưa có"."""
    at = value if isinstance(value, datetime) else parse_moment(value)
    if at is None:
        return None
    seconds = (now - at).total_seconds()
    ago = "vừa xong" if seconds < JUST_NOW_S else f"{duration(seconds)} trước"
    return Moment(iso=at.isoformat(), ago=ago, at=in_vietnam(at).strftime("%H:%M:%S %d/%m/%Y"))


# -- the queues and the workers -----------------------------------------------------------


@dataclass(frozen=True)
class QueueView:
    name: str
    label: str
    depth: int
    oldest: str
    unacked: int | None
    consumers: int | None
    dead_letters: int
    # A channel that is not switched on here (dvc without its address): nobody need consume it.
    off: bool = False

    @property
    def unattended(self) -> bool:
        """Nobody takes this queue's work: it waits until a worker comes back."""
        return self.consumers == 0 and not self.off


def queue_views(queues: Sequence[Mapping[str, Any]], channels: Sequence[str]) -> list[QueueView]:
    """Each queue in words; `channels` the channels switched on (a queue of any other is off)."""
    out = []
    for q in queues:
        name = str(q["queue"])
        channel = name.removeprefix("channel.") if name.startswith("channel.") else None
        depth = int(q.get("depth") or 0)
        age = q.get("oldest_age_s")
        out.append(
            QueueView(
                name=name,
                label=queue_label(name),
                depth=depth,
                oldest=duration(age) if depth and age is not None else "",
                unacked=q.get("unacked"),
                consumers=q.get("consumers"),
                dead_letters=int(q.get("dead_letters") or 0),
                off=channel is not None and channel not in channels,
            )
        )
    return out


@dataclass(frozen=True)
class WorkerView:
    name: str
    queues: list[str]
    online: bool
    seen: Moment | None
    pid: int | None


def worker_views(workers: Sequence[Mapping[str, Any]], now: datetime) -> list[WorkerView]:
    return [
        WorkerView(
            name=str(w["name"]),
            queues=[f"{queue_label(q)} ({q})" if q in QUEUE_LABELS else q for q in w.get("queues", [])],
            online=bool(w.get("online")),
            seen=moment(w.get("seen_at"), now),
            pid=w.get("pid"),
        )
        for w in workers
    ]


# -- the owners' outboxes -----------------------------------------------------------------


@dataclass(frozen=True)
class OutboxView:
    """One owner's events not yet handed to the notifier; `unreachable` or `refused` when it
    did not tell (the row says so, the rest of the page stands)."""

    owner: str
    label: str
    unsent: int = 0
    oldest_age_s: float = 0.0
    last_sent: Moment | None = None
    unreachable: bool = False
    refused: str = ""

    @property
    def answered(self) -> bool:
        return not self.unreachable and not self.refused

    @property
    def oldest(self) -> str:
        return duration(self.oldest_age_s) if self.unsent else ""

    @property
    def slow(self) -> bool:
        return self.answered and self.unsent > 0 and self.oldest_age_s > OUTBOX_SLOW_S


def outbox_view(owner: str, answer: Mapping[str, Any], now: datetime) -> OutboxView:
    return OutboxView(
        owner=owner,
        label=owner_label(owner),
        unsent=int(answer.get("unsent") or 0),
        oldest_age_s=float(answer.get("oldest_age_s") or 0.0),
        last_sent=moment(answer.get("last_sent_at"), now),
    )


def outbox_unreachable(owner: str) -> OutboxView:
    return OutboxView(owner=owner, label=owner_label(owner), unreachable=True)


def outbox_refused(owner: str, status_code: int) -> OutboxView:
    return OutboxView(owner=owner, label=owner_label(owner), refused=f"mã {status_code}")


# -- reconciliation -----------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectLink:
    label: str
    href: str | None


# (kind, id) -> where to open it, or None: no page for it.
LinkFor = Callable[[str, str], str | None]


def subject_link(raw: str, link_for: LinkFor) -> SubjectLink:
    """'procedure:MB.XD.001' as 'Thủ tục MB.XD.001', linked where there is a page."""
    kind, _, subject_id = raw.partition(":")
    if not subject_id:
        return SubjectLink(label=raw, href=None)
    return SubjectLink(label=f"{kind_label(kind)} {subject_id}", href=link_for(kind, subject_id))


@dataclass(frozen=True)
class ChannelRepair:
    channel: str
    label: str
    count: int
    subjects: list[SubjectLink]

    @property
    def unlisted(self) -> int:
        return max(self.count - len(self.subjects), 0)


@dataclass(frozen=True)
class RoundView:
    finished: Moment | None
    at_start: bool
    fetched: int
    fetched_subjects: list[SubjectLink]
    redelivered: int
    channels: list[ChannelRepair]
    unreachable: list[str]

    @property
    def repaired(self) -> bool:
        return self.fetched > 0 or self.redelivered > 0

    @property
    def fetched_unlisted(self) -> int:
        return max(self.fetched - len(self.fetched_subjects), 0)


def _channel_order(name: str) -> tuple[int, str]:
    order = list(CHANNEL_LABELS)
    return (order.index(name) if name in order else len(order), name)


def round_view(r: Mapping[str, Any], now: datetime, link_for: LinkFor) -> RoundView:
    counts: Mapping[str, int] = r.get("redelivered_by_channel") or {}
    listed: Mapping[str, Sequence[str]] = r.get("redelivered_subjects") or {}
    return RoundView(
        finished=moment(r.get("finished_at"), now),
        at_start=bool(r.get("at_start")),
        fetched=int(r.get("fetched") or 0),
        fetched_subjects=[subject_link(s, link_for) for s in r.get("fetched_subjects") or []],
        redelivered=int(r.get("redelivered") or 0),
        channels=[
            ChannelRepair(
                channel=name,
                label=channel_label(name),
                count=int(counts.get(name, len(listed.get(name, [])))),
                subjects=[subject_link(s, link_for) for s in listed.get(name, [])],
            )
            for name in sorted({*counts, *listed}, key=_channel_order)
        ],
        unreachable=[OWNER_LABELS.get(o, o) for o in r.get("unreachable") or []],
    )


# -- what needs attention first -----------------------------------------------------------


@dataclass(frozen=True)
class Attention:
    """One thing wrong, in a sentence, and the section of the page that shows it."""

    text: str
    anchor: str


@dataclass
class Health:
    """What the page read; None (or a flag) where it could not."""

    channels: list[Mapping[str, Any]] | None = None
    queues: list[QueueView] | None = None
    workers: list[WorkerView] | None = None
    outboxes: list[OutboxView] = field(default_factory=list)
    last_round: RoundView | None = None
    reconciliation_read: bool = True
    dead_total: int = 0


def attention(health: Health) -> list[Attention]:
    """Most urgent first: nothing moves, then things piling up, then what is owed a retry."""
    out: list[Attention] = []
    for q in health.queues or []:
        if q.unattended:
            waiting = f"; {q.depth} việc đang chờ" if q.depth else ""
            out.append(
                Attention(f"Không có worker nào nhận hàng đợi «{q.label}» ({q.name}){waiting}.", "hang-doi")
            )
    # The notifier not answering at all is said above the page; only a part of it here.
    notifier_read = health.channels is not None
    if notifier_read and health.workers is None:
        out.append(Attention("Chưa đọc được danh sách worker.", "worker"))
    for w in health.workers or []:
        if not w.online:
            since = f" từ {w.seen.ago}" if w.seen else ""
            out.append(Attention(f"Worker {w.name} mất liên lạc{since}.", "worker"))
    for o in health.outboxes:
        if o.unreachable:
            out.append(
                Attention(f"Không liên lạc được {OWNER_LABELS.get(o.owner, o.owner)}.", "hang-cho-gui")
            )
        elif o.slow:
            out.append(
                Attention(
                    f"{o.label}: {o.unsent} thay đổi chưa chuyển sang dịch vụ công khai, "
                    f"chờ lâu nhất {o.oldest}.",
                    "hang-cho-gui",
                )
            )
    for c in health.channels or []:
        if c.get("health") not in (None, "ok"):
            out.append(
                Attention(
                    f"Kênh {channel_label(str(c['name']))}: {c.get('failed', 0)} lượt lỗi đang thử lại, "
                    f"{c.get('dead', 0)} lượt hỏng hẳn.",
                    "kenh",
                )
            )
    if health.dead_total:
        out.append(Attention(f"{health.dead_total} lượt gửi hỏng hẳn chờ người thử lại.", "luot-gui-loi"))
    if notifier_read and not health.reconciliation_read:
        out.append(Attention("Chưa đọc được kết quả đối soát.", "doi-soat"))
    elif health.last_round and health.last_round.unreachable:
        names = ", ".join(health.last_round.unreachable)
        out.append(Attention(f"Lần đối soát gần nhất không liên lạc được {names}.", "doi-soat"))
    return out
