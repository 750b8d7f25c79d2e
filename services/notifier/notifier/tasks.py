"""Thin Celery tasks: each calls one use case of the process's Notifier."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from celery import Task, current_app, shared_task
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

    return deliver  # type: ignore[no-any-return]


channel_tasks = {channel: _channel_task(channel) for channel in QUEUED}


@shared_task(name=names.PUMP_TASK)
def pump() -> None:
    notifier().pump()


@shared_task(name=names.RECONCILE_TASK)
def reconcile() -> None:
    notifier().reconcile()


@shared_task(name=names.BRIEFING_TASK)
def weekly_briefing() -> None:
    notifier().plan_briefing()
