"""The content service's settings: `CONTENT_*` variables, plus the shared `MB_*` ones."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from minhbach_shared.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTENT_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite:///./var/content.db"
    port: int = 8002
    attachments_dir: Path = Path("var/attachments")
    max_attachment_bytes: int = Field(10 * 1024 * 1024, ge=1)
    # Linked procedure codes are checked here before any save.
    procedures_url: str = "http://127.0.0.1:8001"
    procedures_timeout_s: float = Field(3.0, gt=0)
    # How often beat publishes due scheduled articles and expires old ones.
    apply_schedule_every_s: float = Field(15.0, gt=0)
