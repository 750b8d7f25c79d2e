"""The disclosure channels. CHANNELS is the only registry: name -> factory from settings."""

from __future__ import annotations

from collections.abc import Callable

from notifier.channels.base import Channel, Outcome, ReadModel
from notifier.channels.portal import PortalChannel
from notifier.settings import Settings

CHANNELS: dict[str, Callable[[Settings], Channel]] = {
    "portal": lambda settings: PortalChannel(
        settings.portal_dir, content_base_url=settings.content_public_url or settings.content_url
    ),
}


def build_channels(settings: Settings) -> dict[str, Channel]:
    return {name: factory(settings) for name, factory in CHANNELS.items()}


__all__ = ["CHANNELS", "Channel", "Outcome", "ReadModel", "build_channels"]
