"""The console's settings: `CONSOLE_*` variables, plus the shared `MB_*` ones.

The console issues tokens as `MB_AUTH_ISSUER` (the same setting the APIs verify
against), signed with the key in `CONSOLE_SIGNING_KEY_FILE`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from minhbach_shared.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite:///./var/console.db"
    port: int = 8005
    # The Ed25519 private key tokens are signed with; made on first start when missing.
    signing_key_file: Path = Path("var/console-signing-key.pem")
    # The owners' APIs, called as the signed-in person.
    procedures_url: str = "http://127.0.0.1:8001"
    content_url: str = "http://127.0.0.1:8002"
    hotline_url: str = "http://127.0.0.1:8003"
    notifier_url: str = "http://127.0.0.1:8004"
    # Where citizens see the portal (links from the console to a published page).
    portal_url: str = "http://127.0.0.1:8004/portal"
    # Access tokens the console makes for its calls to the APIs (15 minutes at most).
    token_ttl_s: int = Field(300, ge=30, le=900)
    # A session ends after this long without a request, and in any case after max.
    session_idle_s: int = Field(30 * 60, ge=60)
    session_max_s: int = Field(12 * 3600, ge=300)
    # Wrong passwords: each one waits a little longer (step × failures so far, capped),
    # and this many within the window lock the account, or the client, for the window.
    failure_delay_step_s: float = Field(0.5, ge=0)
    failure_delay_max_s: float = Field(3.0, ge=0)
    lock_after_account_failures: int = Field(5, ge=1)
    lock_after_client_failures: int = Field(20, ge=1)
    lock_window_s: int = Field(15 * 60, ge=1)

    @property
    def secure_cookies(self) -> bool:
        return self.environment == "production"
