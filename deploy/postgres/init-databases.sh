#!/bin/sh
# One PostgreSQL database per service (DESIGN.md: no service reads another's tables).
# Run once by the postgres image's entrypoint, on an empty data volume only, from
# /docker-entrypoint-initdb.d. Add a service's database here and its
# <SERVICE>_DATABASE_URL in docker-compose.yml; tests/compose checks they agree.
# Each database is owned by the services' user: the procedures migration 0003 creates
# the pg_trgm extension (trusted since PostgreSQL 13, so a database owner may, superuser
# or not; the image ships contrib) for its search indexes.
set -eu

for db in procedures content hotline notifier console; do
    echo "init-databases: creating database $db"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
        -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\" ENCODING 'UTF8' TEMPLATE template0"
done
