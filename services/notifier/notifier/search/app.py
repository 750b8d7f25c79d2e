"""The search service: `uvicorn --factory notifier.search.app:create_app --port 8006`.

Its own process (and container), so the public's searches never queue behind the
notifier's API, an owner's writes or a channel run: it reads the index file the portal
channel writes, and nothing else (no database, no Redis).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from minhbach_shared.http import install_platform
from minhbach_shared.observability import configure_logging
from minhbach_shared.settings import BaseServiceSettings
from notifier.search.index import SearchIndexReader
from notifier.search.routes import install_search


class SearchSettings(BaseServiceSettings):
    """The notifier's NOTIFIER_PORTAL_DIR: the search reads what that portal shows."""

    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", populate_by_name=True)

    portal_dir: Path = Path("var/portal")
    # Answers kept for repeated searches (notifier.search.cache); 0: none.
    search_cache_size: int = Field(4096, ge=0)


def create_app(settings: SearchSettings | None = None) -> FastAPI:
    settings = settings or SearchSettings()
    configure_logging(service="search", level=settings.log_level, json_logs=settings.log_json)
    app = FastAPI(
        title="Minh Bạch public search",
        description="One search over everything the portal discloses.",
        version="0.1.0",
    )
    reader = SearchIndexReader(settings.portal_dir)
    # Ready before the portal's first run too (the page says nothing is disclosed yet):
    # what it needs is the portal's directory, mounted or made.
    portal = settings.portal_dir
    install_platform(
        app,
        service="search",
        readiness=lambda: {"portal": "ok" if portal.is_dir() else f"missing: {portal}"},
    )
    install_search(app, reader, cache_entries=settings.search_cache_size)
    return app
