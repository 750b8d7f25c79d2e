"""Settings read from the environment, with defaults that run locally with no .env file.

Platform settings every service shares are read from `MB_*` variables (one Redis,
one token issuer, one visibility timeout); a service's own settings use its prefix,
e.g. `PROCEDURES_DATABASE_URL`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The console's issuer identifier when nothing else is configured (make up's console).
LOCAL_ISSUER = "http://127.0.0.1:8005"
# The dvc webhooks' signing secret (Standard Webhooks "whsec_" + base64) for local runs
# and tests: the notifier signs with it and the local stand-in receiver verifies with it.
# The notifier refuses it in production.
DEV_DVC_SECRET = "whsec_bWluaGJhY2gtbG9jYWwtZHZjLXdlYmhvb2stc2VjcmV0LWRvLW5vdC1kZXBsb3k="  # noqa: S105

# Redis re-delivers an unacknowledged message after this long; every Celery app
# uses the same value and no countdown or ETA may come near it (see celery.py).
# 15 minutes: far longer than any task runs, short enough that a message held
# by a worker killed with -9 comes back the same quarter hour. Reconciliation
# repairs faster than that anyway.
DEFAULT_VISIBILITY_TIMEOUT_S = 900


def _shared(name: str) -> AliasChoices:
    return AliasChoices(f"MB_{name.upper()}", name)


class BaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    environment: Literal["local", "test", "production"] = Field(
        "local", validation_alias=_shared("environment")
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias=_shared("redis_url"))
    # Who issues the access tokens the APIs accept (minhbach_shared.auth): the console
    # by default, or a deployment's own OpenID issuer. Its keys come from the JWKS file
    # when one is named, else from the JWKS URL, else from the issuer's OpenID discovery.
    auth_issuer: str = Field(LOCAL_ISSUER, validation_alias=_shared("auth_issuer"), min_length=1)
    auth_jwks_url: str | None = Field(None, validation_alias=_shared("auth_jwks_url"))
    auth_jwks_file: Path | None = Field(None, validation_alias=_shared("auth_jwks_file"))
    auth_roles_claim: str = Field("roles", validation_alias=_shared("auth_roles_claim"))
    visibility_timeout_s: int = Field(
        DEFAULT_VISIBILITY_TIMEOUT_S, validation_alias=_shared("visibility_timeout_s"), ge=10
    )
    log_level: str = Field("INFO", validation_alias=_shared("log_level"))
    log_json: bool = Field(True, validation_alias=_shared("log_json"))
    var_dir: Path = Field(Path("var"), validation_alias=_shared("var_dir"))
