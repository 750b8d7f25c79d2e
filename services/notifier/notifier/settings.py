"""The notifier's settings: `NOTIFIER_*` variables, platform ones from `MB_*`."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from minhbach_shared.settings import DEV_DVC_SECRET, BaseServiceSettings

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite:///./var/notifier.db"
    procedures_url: str = "http://127.0.0.1:8001"
    # The content service (articles, documents): where the notifier fetches them ...
    content_url: str = "http://127.0.0.1:8002"
    # ... and where the public fetches their attachments (default: content_url).
    content_public_url: str | None = None
    # The hotline service (published Q&A, public statistics, the hotline's phones and hours).
    hotline_url: str = "http://127.0.0.1:8003"
    # Where citizens' browsers reach the hotline's public API (the portal's form posts
    # there); default: hotline_url, which is the same address when run locally.
    hotline_public_url: str | None = None
    owner_timeout_s: float = Field(5.0, gt=0)
    portal_dir: Path = Path("var/portal")
    # The service centre's kiosk board and A4 notices, served at /center/ by the API.
    center_dir: Path = Path("var/center")
    # Open kiosk streams (/center/stream) per API process; beyond it a 503 with Retry-After.
    # They share one Redis connection, so this bounds sockets and tasks, not Redis's clients.
    max_streams: int = Field(500, ge=1)
    reconcile_interval_s: float = Field(60.0, gt=0)
    # How long a round waits for the events already queued before it calls a change missed.
    reconcile_grace_s: float = Field(3.0, ge=0)
    pump_interval_s: float = Field(5.0, gt=0)
    # Rows due this long without their channel's worker delivering them are delivered
    # by the pump itself (the worker is dead, or deaf after a Redis restart).
    channel_stall_s: float = Field(60.0, gt=0)
    # How long a run's "under way" flag outlives its worker (a heartbeat renews it):
    # after a kill -9 mid-run, the stall rescue waits at most this long.
    running_ttl_s: float = Field(30.0, gt=0)
    # A channel's lock (one run at a time, across hosts) lives this long unless its run
    # renews it: after a kill -9 mid-run, another worker takes the channel within it.
    channel_lock_ttl_s: float = Field(15.0, gt=0)
    # A delivery that failed this many times is dead: visible to operators, replayable.
    max_attempts: int = Field(8, ge=1)
    # Backoff between delivery attempts, kept in the delivery row (next_attempt_at).
    retry_base_s: float = Field(2.0, gt=0)
    retry_cap_s: float = Field(3600.0, gt=0)
    # How many pending rows one channel run takes at most (a burst needs a few runs).
    channel_batch_size: int = Field(2000, ge=1)

    # -- e-mail (overdue-ticket reminders) ------------------------------------------
    # The SMTP relay; the default is a local test server (e.g. aiosmtpd, MailHog).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(1025, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(10.0, gt=0)
    # PLACEHOLDER: the Department's real sending address is to be confirmed by its IT staff.
    mail_from: str = "Minh Bạch <no-reply@soxaydung.thaibinh.gov.vn>"
    # The Department's Office, copied on every overdue reminder. PLACEHOLDER address.
    office_email: str = "vanphong@soxaydung.thaibinh.gov.vn"
    # Unit name (as the hotline assigns it) -> address, e.g.
    # NOTIFIER_UNIT_EMAILS='{"Phòng Quản lý xây dựng": "qlxd@example.vn"}'. A unit
    # missing here: only the Office is mailed, and the e-mail says so.
    unit_emails: dict[str, str] = Field(default_factory=dict)
    # Where staff open the hotline's API from the e-mail (default: hotline_url).
    hotline_staff_url: str | None = None

    # -- the weekly internal briefing (last week's disclosures, to the Office) -------
    # Who gets it; empty: the Office (office_email). Sent on Monday from this hour
    # (Vietnam time) on; beat checks every hour, so a beat that was down catches up.
    briefing_recipients: list[str] = Field(default_factory=list)
    briefing_hour: int = Field(7, ge=0, le=23)

    # -- e-mail to subscribers (a procedure or a field, double opt-in) ---------------
    # Where the public reaches this API (the links in e-mails: confirm, unsubscribe) ...
    public_url: str = "http://127.0.0.1:8004"
    # ... and the portal's pages (links to the changed procedures); default: public_url + /portal.
    portal_public_url: str | None = None
    # Changes wait this long before their e-mail leaves, so a burst becomes one e-mail.
    subscriber_delay_s: float = Field(60.0, ge=0)
    # Asking again for the same address and target sends a new confirmation at most this often.
    confirm_resend_s: float = Field(600.0, ge=0)
    # Subscription requests per client address and window (a flood gets 429 and Retry-After).
    subscribe_rate_limit: int = Field(10, ge=1)
    subscribe_rate_window_s: int = Field(3600, ge=1)

    @property
    def portal_url(self) -> str:
        return (self.portal_public_url or f"{self.public_url.rstrip('/')}/portal").rstrip("/")

    # -- dvc (the online public service portal, an external system) -----------------
    # Its webhook endpoint; unset or empty: the channel is off (no rows, no worker work).
    dvc_url: str | None = None
    # Standard Webhooks secret: "whsec_" + base64 of the key, as the receiver has it.
    dvc_secret: SecretStr = SecretStr(DEV_DVC_SECRET)
    # Per request: a receiver that does not answer within this fails the attempt.
    dvc_timeout_s: float = Field(10.0, gt=0)
    # Webhooks a dvc run sends at once (the receiver's connections from us).
    dvc_in_flight: int = Field(4, ge=1, le=32)
    # An external portal may be down for hours: its rows get more attempts than the
    # default before they are dead (16 at the default backoff: 3 to 5 hours).
    dvc_max_attempts: int = Field(16, ge=1)

    @field_validator("dvc_url")
    @classmethod
    def _empty_url_is_off(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @field_validator("dvc_secret", mode="before")
    @classmethod
    def _unset_secret_is_the_default(cls, value: object) -> object:
        # compose passes ${MB_DVC_SECRET:-}: empty means unset (refused in production with a URL).
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        return DEV_DVC_SECRET if raw in (None, "") else value

    @field_validator("dvc_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        try:
            key = base64.b64decode(raw.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("NOTIFIER_DVC_SECRET must be whsec_ followed by base64") from None
        if len(key) < 24:
            raise ValueError("NOTIFIER_DVC_SECRET must hold at least 24 bytes of key")
        return value

    @model_validator(mode="after")
    def _refuse_dev_dvc_secret_in_production(self) -> Settings:
        if (
            self.environment == "production"
            and self.dvc_url is not None
            and self.dvc_secret.get_secret_value() == DEV_DVC_SECRET
        ):
            raise ValueError("NOTIFIER_DVC_SECRET must be set to the receiver's real secret in production")
        return self

    def max_attempts_of(self, channel: str) -> int:
        """Attempts before a delivery of `channel` is dead."""
        return self.dvc_max_attempts if channel == "dvc" else self.max_attempts
