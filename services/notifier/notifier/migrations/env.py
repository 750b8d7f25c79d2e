"""Alembic environment; `minhbach_shared.db.migrate` sets script_location and the URL."""

from minhbach_shared.db import run_alembic_env
from notifier.db import metadata

run_alembic_env(metadata)
