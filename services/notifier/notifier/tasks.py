"""Thin Celery tasks: each calls one use case of the process's Notifier."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from celery import Task, current_app, shared_task
from celery.signals import worker_ready
from sqlalchemy.exc import OperationalError

from minhbach_shared import names
from minhbach_shared.celery import backoff_countdown
from notifier.bootstrap import build_notifier
from notifier.channels import QUEUED
from notifier.services import Notifier
from notifier.settings import Settings

log = logging.getLogger(__name__)

# Built on first use in each worker process (after the fork), never at import.
_notifier: Notifier | None = None
TRANSIENT = (httpx.HTTPError, OperationalError)
INGEST_MAX_RETRIES = 20
# The start-up reconcile asks owners that did not answer again, for about a minute.
CATCH_UP_TRIES = 12
CATCH_UP_EVERY_S = 5


def notifier() -> Notifier:
    global _notifier
    if _notifier is None:
        _notifier = build_notifier(Settings(), celery=current_app)
    return _notifier


@shared_task(name=names.INGEST_TASK, bind=True, max_retries=INGEST_MAX_RETRIES)
def ingest(self: Task, envelopes: list[dict[str, Any]]) -> None:
    # Owner down: retry with backoff; nothing was written. Past the last retry the
    # reconciler still finds the change from the owner's /v1/sync/versions.
    try:
        notifier().ingest(envelopes)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=backoff_countdown(self.request.retries)) from exc


def _channel_task(channel: str) -> Task:
    @shared_task(name=names.channel_task(channel), bind=True, max_retries=5)
    def deliver(self: Task) -> None:
        try:
            notifier().run_channel(channel)
        except OperationalError as exc:
            raise self.retry(exc=exc, countdown=backoff_countdown(self.request.retries)) from exc

    return deliver


channel_tasks = {channel: _channel_task(channel) for channel in QUEUED}


@shared_task(name=names.PUMP_TASK)
def pump() -> None:
    notifier().pump()


@shared_task(name=names.RECONCILE_TASK, bind=True, max_retries=CATCH_UP_TRIES)
def reconcile(self: Task, catch_up: bool = False) -> None:
    # catch_up: sent once when the notifier's worker starts, so a system that was down
    # (or is just starting) converges now, not a reconcile interval later. Owners may
    # still be starting beside it: ask again every few seconds until all answered.
    report = notifier().reconcile()
    if catch_up and report.unreachable and self.request.retries < CATCH_UP_TRIES:
        raise self.retry(countdown=CATCH_UP_EVERY_S)


@worker_ready.connect
def catch_up_at_start(sender: Any, **_: Any) -> None:
    """The worker that consumes the notifier's own queue starts with one reconcile."""
    if names.NOTIFIER_QUEUE in sender.app.amqp.queues.consume_from:
        reconcile.apply_async(kwargs={"catch_up": True}, queue=names.NOTIFIER_QUEUE)


@shared_task(name=names.BRIEFING_TASK)
def weekly_briefing() -> None:
    notifier().plan_briefing()
