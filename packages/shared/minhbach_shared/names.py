"""Task and queue names: the only place they are spelled."""

# Each owning service's own queue and its one periodic task (beat).
PROCEDURES_QUEUE = "procedures"
APPLY_DUE_TASK = "procedures.apply_due_decisions"
CONTENT_QUEUE = "content"
APPLY_SCHEDULE_TASK = "content.apply_schedule"
HOTLINE_QUEUE = "hotline"
CHECK_OVERDUE_TASK = "hotline.check_overdue"

# The relay of every owning service sends lists of envelopes to this task.
INGEST_TASK = "notifier.ingest"
EVENTS_QUEUE = "events"

# One queue per disclosure channel, so a slow channel never holds the others back.
CHANNEL_QUEUES: dict[str, str] = {
    "portal": "channel.portal",
    # The Public Administrative Service Centre: kiosk board and printable notices.
    "center": "channel.center",
    # The online public service portal (an external system, signed webhooks): its own
    # worker, so a slow or unreachable receiver never holds the portal back.
    "dvc": "channel.dvc",
    # Overdue-ticket reminders (SMTP): one worker, concurrency 1.
    "email": "channel.email",
}


def channel_queue(channel: str) -> str:
    return CHANNEL_QUEUES[channel]


def channel_task(channel: str) -> str:
    """The task that delivers pending rows of one channel, e.g. `channel.portal`."""
    return f"channel.{channel}"


# The notifier's own rounds (beat: reconcile, briefing) run on their own queue, beside
# channel work. The pump, the retries' clock, goes to the events queue: a round takes
# seconds, and a retry must not wait behind it.
NOTIFIER_QUEUE = "notifier"
PUMP_TASK = "notifier.pump"
RECONCILE_TASK = "notifier.reconcile"
# Plans last week's internal briefing once (beat asks every hour; Monday morning it does).
BRIEFING_TASK = "notifier.briefing"
