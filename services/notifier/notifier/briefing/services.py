"""The weekly briefing's use cases: plan last week's e-mails once, and gather what they say.

What a week is and what a digest holds are plain rules in domain.py; this module reads
the read model and the ledger, and the e-mail channel's run (disclosure.services) sends
the planned rows.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from minhbach_shared.times import VIETNAM
from notifier.briefing import domain as briefing
from notifier.briefing import repository as repo
from notifier.channels.email import CHANNEL_LABELS, EMAIL, duration
from notifier.channels.pages import vn_date
from notifier.channels.views.content import CATEGORIES
from notifier.channels.views.procedures import ACTIONS
from notifier.disclosure import repository as disclosure
from notifier.disclosure.domain import percentile
from notifier.hotline import domain as hotline
from notifier.hotline import repository as hotline_repo
from notifier.operations import services as operations
from notifier.parts import Parts

log = logging.getLogger(__name__)


def plan_briefing(parts: Parts, *, now: datetime | None = None) -> str | None:
    """Plan last week's briefing once, from Monday `briefing_hour` (Vietnam time) on.

    Beat calls this every hour: a week that has its rows is never planned again, and a
    beat that was down on Monday morning plans it when it is back. Returns the week id
    when it planned one.
    """
    if parts.mailer is None:
        return None
    now = now or parts.clock()
    local = now.astimezone(VIETNAM)
    if local.weekday() == 0 and local.hour < parts.settings.briefing_hour:
        return None
    week = briefing.last_week(now)
    recipients = parts.settings.briefing_recipients or [parts.settings.office_email]
    with parts.write() as session:
        if repo.briefing_planned(session, week.id):
            return None
        for recipient in dict.fromkeys(r.strip() for r in recipients if r.strip()):
            repo.add_briefing_email(session, week=week.id, recipient=recipient, channel=EMAIL, now=now)
        session.commit()
    parts.dispatcher.enqueue_channel(EMAIL)
    log.info("weekly briefing planned", extra={"week": week.id, "recipients": len(recipients)})
    return week.id


def digest(parts: Parts, session: Session, week: briefing.Week) -> briefing.Digest:
    """What happened during `week`, from the read model and the ledger."""
    subjects = disclosure.all_subjects(session)
    states: dict[str, list[dict[str, Any]]] = {}
    for s in subjects:
        states.setdefault(s.kind, []).append(s.state)
    digest = briefing.Digest(week)
    for c in briefing.procedure_changes(week, states.get("procedure", [])):
        digest.procedures.append(
            {**c, "action": ACTIONS.get(str(c["action"]), str(c["action"])), "day": vn_date(c["at"])}
        )
    digest.upcoming = [
        {"number": d.get("number"), "title": d.get("title"), "effective": vn_date(d.get("effective_on"))}
        for d in states.get("decision", [])
        if d.get("status") == "scheduled"
    ]
    for a in briefing.published_in(week, states.get("article", [])):
        category = CATEGORIES.get(str(a.get("category")))
        digest.articles.append({"category": category.title if category else "", "title": a.get("title")})
    digest.answers = [
        {"id": t.get("id"), "subject": t.get("subject"), "unit": t.get("unit")}
        for t in briefing.published_in(week, states.get(hotline.TICKET, []))
    ]
    digest.overdue_reminders, digest.overdue_tickets = hotline_repo.overdue_between(
        session, start=week.start, end=week.end
    )
    report = operations.disclosure_report(parts)
    behind: dict[str, int] = {}
    for item in [*report["stale"], *report["missing"]]:
        behind[item["channel"]] = behind.get(item["channel"], 0) + 1
    for name in parts.queued():
        took = disclosure.sent_between(session, channel=name, start=week.start, end=week.end)
        p50, p90 = percentile(took, 50), percentile(took, 90)
        digest.channels.append(
            {
                "label": CHANNEL_LABELS.get(name, name),
                "sent": len(took),
                "p50": duration(p50) if p50 is not None else None,
                "p90": duration(p90) if p90 is not None else None,
                "dead_now": disclosure.channel_stats(session, channel=name)["dead"],
                "behind_now": behind.get(name, 0),
            }
        )
    return digest
