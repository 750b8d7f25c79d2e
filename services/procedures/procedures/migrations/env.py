"""Alembic environment; `minhbach_shared.db.migrate` sets script_location and the URL."""

from minhbach_shared.db import run_alembic_env
from procedures.db import include_in_autogenerate, metadata

run_alembic_env(metadata, include_name=include_in_autogenerate)
