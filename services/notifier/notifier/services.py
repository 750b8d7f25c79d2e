"""The Notifier: the one object tasks, routes, bench and tests call.

Each use case lives in its own module as a function of the Parts; here they are bound
as methods. Each write is one transaction; channel work is queued after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from notifier import backstops, ingest, operations, runs, subscribing, weekly_briefing
from notifier.ingest import IngestReport
from notifier.parts import Parts


class Notifier(Parts):
    """The notifier's use cases, as every caller knows them."""

    # -- ingest: ingest.py ------------------------------------------------------------------

    refresh_statistics = ingest.refresh_statistics

    def ingest(self, raw_envelopes: Sequence[Any]) -> IngestReport:
        return ingest.ingest(self, raw_envelopes)  # here `ingest` is the module, not this method

    # -- channel runs, e-mail included: runs.py ---------------------------------------------

    run_channel = runs.run_channel

    # -- periodic backstops: backstops.py ---------------------------------------------------

    pump = backstops.pump
    reconcile = backstops.reconcile

    # -- subscriptions: subscribing.py ------------------------------------------------------

    subscribe = subscribing.subscribe
    confirm_subscription = subscribing.confirm_subscription
    unsubscribe = subscribing.unsubscribe

    # -- the weekly briefing: weekly_briefing.py --------------------------------------------

    plan_briefing = weekly_briefing.plan_briefing

    # -- operators and reads: operations.py -------------------------------------------------

    retry_delivery = operations.retry_delivery
    resync = operations.resync
    channel_status = operations.channel_status
    list_deliveries = operations.list_deliveries
    disclosure_report = operations.disclosure_report
