"""An overdue ticket reminds the Office by e-mail once a day, not once per beat tick (issue 4).

Real processes: the hotline API and worker, its relay, the notifier's event and e-mail
workers, and a real SMTP server (aiosmtpd) listening where the notifier sends mail.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from minhbach_shared.auth import Role
from minhbach_testing.harness import VIETNAM, System
from minhbach_testing.notifier import Inbox
from minhbach_testing.plugin import wait_until


def check_overdue(system: System, as_of: datetime) -> None:
    from hotline.bootstrap import create_celery
    from hotline.settings import Settings
    from minhbach_shared.names import CHECK_OVERDUE_TASK
    from minhbach_shared.names import HOTLINE_QUEUE as QUEUE

    celery = create_celery(Settings(redis_url=system.redis.url))
    celery.send_task(CHECK_OVERDUE_TASK, kwargs={"as_of": as_of.isoformat()}, queue=QUEUE)


def test_overdue_ticket_mails_the_office_once_per_day(system: System, inbox: Inbox):
    with system.hotline() as api:
        logged = api.post(
            "/v1/tickets",
            json={
                "kind": "kien_nghi",
                "subject": "Kiến nghị công khai quy hoạch",
                "body": "Đề nghị công khai bản đồ quy hoạch phân khu.",
                "name": "Phạm Quốc Khánh",
                "phone": "0987654321",
            },
            headers=system.token(Role.HOTLINE),
        )
    assert logged.status_code == 201, logged.text
    ticket = logged.json()
    assert ticket["classify_due_on"] < "2027-03-09", ticket
    # Far past the classification deadline, on two working days (time moved, not slept).
    first_day = datetime(2027, 3, 9, 9, 0, tzinfo=VIETNAM)  # a Tuesday
    check_overdue(system, first_day)
    check_overdue(system, first_day.replace(hour=14))  # beat ticks again the same day
    check_overdue(system, first_day.replace(hour=16, minute=30))

    def office_mails() -> list[EmailMessage]:
        return [m for _, m in inbox.messages if ticket["tracking_code"] in str(m["Subject"])]

    wait_until(lambda: len(office_mails()) >= 1, timeout=30, message="the overdue e-mail")
    check_overdue(system, first_day.replace(day=10))  # the next working day: one more
    wait_until(lambda: len(office_mails()) >= 2, timeout=30, message="the next day's e-mail")
    # give a duplicate every chance to arrive before counting
    check_overdue(system, first_day.replace(day=10, hour=15))
    redis = system.redis.client()
    wait_until(
        lambda: (
            not any(redis.llen(q) for q in ("hotline", "events", "channel.email"))
            and not redis.hlen("unacked")
        ),
        timeout=30,
        message="every queue drained and every task acknowledged",
    )

    mails = office_mails()
    assert len(mails) == 2, [m["Subject"] for m in mails]
    body = mails[0].get_content()
    assert "Quá hạn" in str(mails[0]["Subject"])
    assert ticket["tracking_code"] in body
    for secret in ("Phạm Quốc Khánh", "0987654321", "Kiến nghị công khai quy hoạch"):
        assert secret not in body and secret not in str(mails[0]["Subject"])
