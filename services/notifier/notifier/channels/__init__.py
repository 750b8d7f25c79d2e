"""The disclosure channels. CHANNELS is the only registry: name -> factory from settings.

E-mail is a channel with its own queue and worker but not a disclosure channel (no
ledger, no read-model fan-out): it is built apart, and QUEUED lists every channel
that has a queue.
"""

from __future__ import annotations

from collections.abc import Callable

from notifier.channels.base import Channel, Outcome, ReadModel
from notifier.channels.center import CenterChannel, RedisAnnouncer
from notifier.channels.email import EMAIL, EmailChannel
from notifier.channels.portal import PortalChannel
from notifier.settings import Settings

CHANNELS: dict[str, Callable[[Settings], Channel]] = {
    "portal": lambda settings: PortalChannel(
        settings.portal_dir,
        content_base_url=settings.content_public_url or settings.content_url,
        hotline_base_url=settings.hotline_public_url or settings.hotline_url,
        subscribe_action=f"{settings.public_url.rstrip('/')}/v1/public/subscriptions/form",
    ),
    "center": lambda settings: CenterChannel(
        settings.center_dir, announce=RedisAnnouncer(settings.redis_url)
    ),
}

QUEUED: tuple[str, ...] = (*CHANNELS, EMAIL)


def build_mailer(settings: Settings) -> EmailChannel:
    return EmailChannel(settings)


def build_channels(settings: Settings) -> dict[str, Channel]:
    return {name: factory(settings) for name, factory in CHANNELS.items()}


__all__ = [
    "CHANNELS",
    "EMAIL",
    "QUEUED",
    "Channel",
    "EmailChannel",
    "Outcome",
    "ReadModel",
    "build_channels",
    "build_mailer",
]
