"""The e-mail channel: overdue-ticket reminders to the assigned unit and the Department's Office.

Not a disclosure channel: an e-mail is a message to someone, not a version shown, so it
has no ledger and is never superseded. Each (event, recipient) is one delivery row
(channel "email") with the usual retries, backoff, dead state and operator retry.

Exactly once, in effect: each message is marked sent in its own transaction right after
the SMTP server accepted it. A worker dying between the two sends that one message
again, once, on its next run; the Message-ID is derived from the event id and the
recipient, so mail systems (and people) can tell it is the same message.

Nothing personal goes out: the overdue event carries a tracking code, a unit, a due
date, a stage and a count of days (hotline.domain.OVERDUE_FIELDS), and that is all the
template gets.
"""

from __future__ import annotations

import email.policy
import hashlib
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifier.briefing.domain import Digest
from notifier.channels.pages import page_name, vn_date
from notifier.channels.views.procedures import procedure_view
from notifier.channels.views.qa import LOOKUP_PAGE, QA_DIR, answer_page
from notifier.disclosure.domain import SubjectState
from notifier.hotline.domain import EmailJob, ReplyJob
from notifier.settings import Settings
from notifier.subscriptions.domain import describe

EMAIL = "email"
# Headers are not folded: Python 3.11's folder splits a long Vietnamese subject into
# encoded words at a space and the space is lost on decoding ("Cấpgiấy"). One line of
# up to 998 characters (RFC 5322's limit) keeps every word apart.
MAIL_POLICY = email.policy.default.clone(max_line_length=998)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
STAGES = {
    "classification": "phân loại, chuyển xử lý",
    "answer": "trả lời",
    "assignment": "xử lý của đơn vị được giao",
}


@dataclass(frozen=True)
class SubscriberMail:
    """One e-mail to a subscriber: the confirmation, or the changes of what they follow."""

    kind: str  # subscriptions.MailKind
    recipient: str
    target_kind: str
    target_key: str
    target_label: str
    token: str
    # Stable per message: a resend after a crash carries the same Message-ID.
    message_key: str
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class BriefingMail:
    """The weekly internal briefing, to one recipient."""

    recipient: str
    digest: Digest


CHANNEL_LABELS = {
    "portal": "Cổng thông tin (mục cải cách hành chính)",
    "center": "Trung tâm Phục vụ hành chính công (bảng tra cứu, bản niêm yết)",
    "dvc": "Cổng dịch vụ công trực tuyến",
    "email": "Thư điện tử",
}


def duration(seconds: float) -> str:
    """0.42 -> "0,4 giây"; 95 -> "1,6 phút"; 7200 -> "2,0 giờ" (Vietnamese decimal comma)."""
    for limit, unit, size in ((60, "giây", 1), (3600, "phút", 60), (float("inf"), "giờ", 3600)):
        if seconds < limit:
            return f"{seconds / size:.1f} {unit}".replace(".", ",")
    raise AssertionError("unreachable")


def change_view(subject: SubjectState, portal_url: str) -> dict[str, Any]:
    """One changed procedure, as a subscriber's e-mail lists it (its newest change)."""
    p = procedure_view(subject, {})
    last = p["history"][-1] if p["history"] else {}
    return {
        "code": p["code"],
        "name": p["name"],
        "version": p["version"],
        "action": last.get("action") or "Cập nhật",
        "decision_number": last.get("decision_number"),
        "effective": last.get("effective"),
        "replaced_by": p["replaced_by"],
        # What this version changed, as the page's "Điểm mới" says it: against the version
        # before, or against the procedure it replaces.
        "changes": last.get("changes") or [],
        "replaces": last.get("replaces"),
        "url": f"{portal_url}/thu-tuc/{page_name(subject.id)}.html",
    }


def _digest(key: str, recipient: str) -> str:
    """Stable per (message, recipient): the same mail twice has the same Message-ID."""
    return hashlib.sha256(f"{key}\n{recipient.lower()}".encode()).hexdigest()[:24]


def _day(value: Any) -> str:
    """2026-11-20 -> 20/11/2026 (anything else as it came)."""
    try:
        return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value or "")


class EmailChannel:
    name = EMAIL

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(enabled_extensions=("html",)),  # .txt: plain text
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- who ---------------------------------------------------------------------------

    def unit_address(self, unit: str | None) -> str | None:
        return self.settings.unit_emails.get(unit) if unit else None

    def recipients(self, data: dict[str, Any]) -> list[str]:
        """The assigned unit (when it has an address) and the Office, each once."""
        out: list[str] = []
        for address in (self.unit_address(data.get("unit")), self.settings.office_email):
            if address and address.strip().lower() not in {a.lower() for a in out}:
                out.append(address.strip())
        return out

    # -- what --------------------------------------------------------------------------

    def message_id(self, event_id: str, recipient: str) -> str:
        return self._message_id(f"overdue.{event_id}.{_digest(event_id, recipient)}")

    def _message_id(self, local: str) -> str:
        domain = parseaddr(self.settings.mail_from)[1].rpartition("@")[2] or "minhbach.local"
        return f"<{local}@{domain}>"

    def _message(self, recipient: str, message_id: str, subject: str) -> EmailMessage:
        """A message with the headers every mail of ours carries; the caller adds the body."""
        msg = EmailMessage(policy=MAIL_POLICY)
        msg["Subject"] = subject
        msg["From"] = self.settings.mail_from
        msg["To"] = recipient
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = message_id  # stable: a resend after a crash carries the same one
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        return msg

    def compose(self, job: EmailJob | ReplyJob | SubscriberMail | BriefingMail) -> EmailMessage:
        if isinstance(job, ReplyJob):
            return self.compose_reply(job)
        if isinstance(job, SubscriberMail):
            return self.compose_subscriber(job)
        if isinstance(job, BriefingMail):
            return self.compose_briefing(job)
        data = job.notice.data
        code = job.notice.ticket_id
        unit = data.get("unit")
        days = data.get("days_overdue")
        staff_url = (self.settings.hotline_staff_url or self.settings.hotline_url).rstrip("/")
        by_unit = f"?{urlencode({'unit': unit}, quote_via=quote)}" if unit else ""
        body = self.env.get_template("ticket_overdue.txt").render(
            code=code,
            unit=unit,
            for_office=job.recipient.lower() != (self.unit_address(unit) or "").lower(),
            unit_has_address=self.unit_address(unit) is not None,
            due_on=_day(data.get("due_on")),
            days=days,
            stage=STAGES.get(str(data.get("stage")), str(data.get("stage") or "")),
            staff_url=f"{staff_url}/v1/tickets{by_unit}",
            status_url=f"{staff_url}/v1/public/tickets/{quote(code)}",
        )
        msg = self._message(
            job.recipient,
            self.message_id(job.notice.event_id, job.recipient),
            f"[Quá hạn] Phản ánh, kiến nghị {code} — quá hạn {days} ngày làm việc",
        )
        msg.set_content(body, charset="utf-8")
        return msg

    # -- how ---------------------------------------------------------------------------

    def connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
        try:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password.get_secret_value() if s.smtp_password else "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def compose_subscriber(self, mail: SubscriberMail) -> EmailMessage:
        base = self.settings.public_url.rstrip("/")
        token = quote(mail.token)
        target = describe(mail.target_kind, mail.target_key, mail.target_label)
        message_id = self._message_id(mail.message_key)
        if mail.kind == "confirm":
            body = self.env.get_template("subscription_confirm.txt").render(
                target=target, confirm_url=f"{base}/v1/public/subscriptions/confirm?token={token}"
            )
            subject = "Xác nhận đăng ký nhận thông báo thay đổi thủ tục hành chính"
            msg = self._message(mail.recipient, message_id, subject)
        else:
            unsubscribe = f"{base}/v1/public/subscriptions/unsubscribe?token={token}"
            body = self.env.get_template("subscription_changes.txt").render(
                target=target, changes=mail.changes, unsubscribe_url=unsubscribe
            )
            n = len(mail.changes)
            subject = (
                f"Thay đổi thủ tục hành chính: {mail.changes[0]['name']}"
                if n == 1
                else f"{n} thay đổi thủ tục hành chính bạn theo dõi"
            )
            msg = self._message(mail.recipient, message_id, subject)
            # RFC 2369 and RFC 8058: mail clients offer a one-click unsubscribe.
            msg["List-Unsubscribe"] = f"<{unsubscribe}>"
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(body, charset="utf-8")
        return msg

    def compose_briefing(self, mail: BriefingMail) -> EmailMessage:
        d = mail.digest
        week = d.week
        year, _, number = week.id.partition("-W")
        body = self.env.get_template("weekly_briefing.txt").render(
            d=d,
            week_label=f"{int(number)}/{year}",
            first_day=vn_date(week.first_day),
            last_day=vn_date(week.last_day),
            report_url=f"{self.settings.public_url.rstrip('/')}/v1/disclosure/report",
        )
        days = f"{vn_date(week.first_day)}–{vn_date(week.last_day)}"
        msg = self._message(
            mail.recipient,
            self._message_id(f"briefing.{week.id}.{_digest(week.id, mail.recipient)}"),
            f"Bản tin công khai tuần {int(number)}/{year} ({days})",
        )
        msg.set_content(body, charset="utf-8")
        return msg

    def compose_reply(self, job: ReplyJob) -> EmailMessage:
        """The Department's answer to the citizen: the text as approved for publication, and
        the link to the public answer (or, when it is not public, to the status lookup)."""
        data, code = job.notice.data, job.notice.ticket_id
        portal = self.settings.portal_url
        public = data.get("public") is True
        link = (
            f"{portal}/{QA_DIR}/{answer_page(code)}.html"
            if public
            else f"{portal}/{QA_DIR}/{LOOKUP_PAGE}.html?ma={quote(code)}"  # the lookup opens on it
        )
        body = self.env.get_template("ticket_answer.txt").render(
            code=code,
            subject=data.get("subject") or "",
            answer=data.get("answer") or "",
            answered_on=_day(data.get("answered_on")),
            public=public,
            link=link,
        )
        msg = self._message(
            job.recipient,
            # One message per answer: a resend after a crash carries the same Message-ID.
            self._message_id(f"answer.{_digest(code, str(job.notice.version))}"),
            f"Sở Xây dựng trả lời phản ánh, kiến nghị {code}",
        )
        msg.set_content(body, charset="utf-8")
        return msg

    def send(self, smtp: smtplib.SMTP, job: EmailJob | ReplyJob | SubscriberMail | BriefingMail) -> None:
        """Hand one message to the server; raises (smtplib.SMTPException is an OSError) on refusal."""
        msg = self.compose(job)
        smtp.send_message(msg, from_addr=parseaddr(self.settings.mail_from)[1], to_addrs=[job.recipient])
