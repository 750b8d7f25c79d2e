"""Thin Celery tasks: each calls one use case with the process's Parts."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from celery import Task, current_app, shared_task
from celery.signals import worker_ready
from sqlalchemy.exc import OperationalError

from minhbach_shared import names
from minhbach_shared.celery import backoff_countdown
from notifier.bootstrap import build_parts
from notifier.briefing import services as briefing
from notifier.channels import QUEUED
from notifier.disclosure import services as disclosure
from notifier.parts import Parts
from notifier.settings import Settings

log = logging.getLogger(__name__)

# Built on first use in each worker process (after the fork), never at import.
_parts: Parts | None = None
TRANSIENT = (httpx.HTTPError, OperationalError)
INGEST_MAX_RETRIES = 20
# The start-up reconcile asks owners that did not answer again, for about a minute.
CATCH_UP_TRIES = 12
CATCH_UP_EVERY_S = 5


def parts() -> Parts:
    global _parts
    if _parts is None:
        _parts = build_parts(Settings(), celery=current_app)
    return _parts


@shared_task(name=names.INGEST_TASK, bind=True, max_retries=INGEST_MAX_RETRIES)
def ingest(self: Task, envelopes: list[dict[str, Any]]) -> None:
    # Owner down: retry with backoff; nothing was written. Past the last retry the
    # reconciler still finds the change from the owner's /v1/sync/versions.
    try:
        disclosure.ingest(parts(), envelopes)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=backoff_countdown(self.request.retries)) from exc


def _channel_task(channel: str) -> Task:
    @shared_task(name=names.channel_task(channel), bind=True, max_retries=5)
    def deliver(self: Task) -> None:
        try:
            disclosure.run_channel(parts(), channel)
        except OperationalError as exc:
            raise self.retry(exc=exc, countdown=backoff_countdown(self.request.retries)) from exc

    return deliver


channel_tasks = {channel: _channel_task(channel) for channel in QUEUED}


@shared_task(name=names.PUMP_TASK)
def pump() -> None:
    disclosure.pump(parts())


@shared_task(name=names.RECONCILE_TASK, bind=True, max_retries=CATCH_UP_TRIES)
def reconcile(self: Task, catch_up: bool = False) -> None:
    # catch_up: sent once when the notifier's worker starts, so a system that was down
    # (or is just starting) converges now, not a reconcile interval later. Owners may
    # still be starting beside it: ask again every few seconds until all answered.
    report = disclosure.reconcile(parts(), at_start=catch_up)
    if catch_up and report.unreachable and self.request.retries < CATCH_UP_TRIES:
        raise self.retry(countdown=CATCH_UP_EVERY_S)


@worker_ready.connect
def catch_up_at_start(sender: Any, **_: Any) -> None:
    """The worker that consumes the notifier's own queue starts with one reconcile."""
    if names.NOTIFIER_QUEUE in sender.app.amqp.queues.consume_from:
        reconcile.apply_async(kwargs={"catch_up": True}, queue=names.NOTIFIER_QUEUE)


@shared_task(name=names.BRIEFING_TASK)
def weekly_briefing() -> None:
    briefing.plan_briefing(parts())
