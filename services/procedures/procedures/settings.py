"""The procedures service's settings: `PROCEDURES_*` variables, plus the shared `MB_*` ones."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from minhbach_shared.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROCEDURES_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite:///./var/procedures.db"
    port: int = 8001
    # How often beat asks the worker to apply scheduled decisions that are due.
    apply_due_every_s: float = Field(15.0, gt=0)
