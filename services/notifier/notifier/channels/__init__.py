"""The disclosure channels. CHANNELS is the only registry: name -> factory from settings.

E-mail is a channel with its own queue and worker but not a disclosure channel (no
ledger, no read-model fan-out): it is built apart, and QUEUED lists every channel
that has a queue. A factory may return None: that channel is off in this
configuration (dvc without NOTIFIER_DVC_URL) and gets no rows.
"""

from __future__ import annotations

from collections.abc import Callable

from notifier.channels.base import Channel, Outcome, ReadModel
from notifier.channels.center import CenterChannel, RedisAnnouncer
from notifier.channels.dvc import DVC, DvcChannel
from notifier.channels.email import EMAIL, EmailChannel
from notifier.channels.portal import PortalChannel
from notifier.settings import Settings


def build_dvc(settings: Settings) -> DvcChannel | None:
    if settings.dvc_url is None:
        return None
    return DvcChannel(
        settings.dvc_url,
        settings.dvc_secret.get_secret_value(),
        portal_url=settings.portal_url,
        timeout_s=settings.dvc_timeout_s,
        in_flight=settings.dvc_in_flight,
    )


CHANNELS: dict[str, Callable[[Settings], Channel | None]] = {
    "portal": lambda settings: PortalChannel(
        settings.portal_dir,
        content_base_url=settings.content_public_url or settings.content_url,
        hotline_base_url=settings.hotline_public_url or settings.hotline_url,
        subscribe_action=f"{settings.public_url.rstrip('/')}/v1/public/subscriptions/form",
        portal_url=settings.portal_url,
    ),
    "center": lambda settings: CenterChannel(
        settings.center_dir, announce=RedisAnnouncer(settings.redis_url), portal_url=settings.portal_url
    ),
    DVC: build_dvc,
}

QUEUED: tuple[str, ...] = (*CHANNELS, EMAIL)


def build_mailer(settings: Settings) -> EmailChannel:
    return EmailChannel(settings)


def build_channels(settings: Settings) -> dict[str, Channel]:
    built = {name: factory(settings) for name, factory in CHANNELS.items()}
    return {name: channel for name, channel in built.items() if channel is not None}


__all__ = [
    "CHANNELS",
    "DVC",
    "EMAIL",
    "QUEUED",
    "Channel",
    "DvcChannel",
    "EmailChannel",
    "Outcome",
    "ReadModel",
    "build_channels",
    "build_mailer",
]
