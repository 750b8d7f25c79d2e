"""The hotline's use case beside events: its public statistics, fetched and delivered when they change.

The hotline gives them no version and sends no event for them: ingest asks after each
batch that touched a ticket, and the reconciler asks every round.
"""

from __future__ import annotations

from notifier.disclosure import repository as repo
from notifier.hotline import domain as hotline
from notifier.parts import Parts


def refresh_statistics(parts: Parts) -> bool:
    """Fetch the hotline's public statistics; store and deliver them when they changed."""
    owner = parts.owners.for_kind(hotline.TICKET)
    document = getattr(owner, "document", None)
    if document is None:
        return False
    body = document(hotline.STATISTICS_DOCUMENT)
    if not isinstance(body, dict):
        return False
    state = hotline.public_statistics(body)
    key = hotline.STATISTICS_KEY
    with parts.write() as session:
        held = repo.get_subject(session, key)
        if held is not None and held.state == state:
            return False
        version = (held.version if held else 0) + 1
        now = parts.clock()
        repo.upsert_subject(session, key=key, version=version, state=state, now=now, occurred_at=now)
        for channel in parts.showing(key):
            repo.add_delivery(session, channel=channel, key=key, version=version, now=now, occurred_at=now)
        session.commit()
    for channel in parts.showing(key):
        parts.dispatcher.enqueue_channel(channel)
    return True
