"""The hotline service's settings: `HOTLINE_*` variables, plus the shared `MB_*` ones.

Lists are JSON in the environment, e.g. `HOTLINE_EXTRA_DAYS_OFF='["2027-02-11"]'`.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from minhbach_shared.settings import BaseServiceSettings

# DEMO VALUES: replace with the Department's real hotline before going live.
DEMO_PHONES = ["0227 3 000 000 (số minh hoạ)", "0900 000 000 (Zalo, số minh hoạ)"]
DEMO_OFFICE_HOURS = (
    "Thứ Hai đến Thứ Sáu (trừ ngày lễ, Tết): sáng 7:00–11:30, chiều 13:30–17:00 (giờ minh hoạ)"
)

# The portal as served locally by the notifier (make up).
DEFAULT_CORS_ORIGINS = ["http://127.0.0.1:8004", "http://localhost:8004"]


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite:///./var/hotline.db"
    port: int = 8003
    procedures_url: str = "http://127.0.0.1:8001"
    procedures_timeout_s: float = Field(3.0, gt=0)

    # Shown on the portal and at the service-centre kiosk (GET /v1/public/statistics).
    phones: list[str] = Field(default_factory=lambda: list(DEMO_PHONES))
    office_hours: str = DEMO_OFFICE_HOURS

    # Deadlines, in working days (weekends, Vietnamese public holidays and extra_days_off skipped).
    classify_within_working_days: int = Field(5, ge=1, le=60)
    answer_within_working_days: int = Field(10, ge=1, le=120)
    extra_days_off: list[date] = Field(default_factory=list)
    # Saturdays the province works in exchange for a bridged day off.
    extra_working_days: list[date] = Field(default_factory=list)

    # Public submissions per client address per window; the 429 says when to come back.
    public_rate_limit: int = Field(5, ge=1)
    public_rate_window_s: int = Field(600, ge=1)
    # Tracking-code look-ups per client address per window (a citizen checks a few times;
    # nobody needs hundreds).
    lookup_rate_limit: int = Field(30, ge=1)
    lookup_rate_window_s: int = Field(600, ge=1)
    max_body_bytes: int = Field(64_000, ge=1_000)
    # Origins whose pages (the portal's form and lookup) may call the public ticket endpoints
    # from the browser; JSON in the environment. No wildcard: list each origin exactly.
    cors_origins: list[str] = Field(default_factory=lambda: list(DEFAULT_CORS_ORIGINS))

    # How often beat looks for overdue tickets; each is reported at most once a day anyway.
    check_overdue_every_s: float = Field(300.0, gt=0)
