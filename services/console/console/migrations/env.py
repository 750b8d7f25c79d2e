"""Alembic environment; `minhbach_shared.db.migrate` sets script_location and the URL."""

from console.db import metadata
from minhbach_shared.db import run_alembic_env

run_alembic_env(metadata)
