#!/bin/sh
# Backup and restore of the docker compose deployment: every service's PostgreSQL database
# (pg_dump -Fc) and the content service's attachments, in the format scripts/backup.py
# writes locally (make backup, make restore): one directory per backup, named by its UTC
# time, holding databases/<service>.pgdump, attachments.tar and manifest.json (created_at,
# what it holds, each file's size and SHA-256). The console's staff accounts are in its
# database. See docs/operations.md, "Backup and restore".
#
#   docker compose --profile backup run --rm backup          # -> ${MB_BACKUP_DIR:-./backups}/<UTC time>/
#   docker compose stop                                      # a restore wants the system stopped
#   docker compose --profile restore run --rm restore 20261205T101500Z   # [--force]
#   docker compose up -d                                     # migrates; the notifier rebuilds the pages
#
# The backup and restore services of docker-compose.yml run it in the postgres image (it has
# pg_dump, pg_restore and psql), with PGHOST, PGUSER, PGPASSWORD and PGDATABASE naming the
# server, the backups under /backups and the attachments volume at /attachments.
#
# Not backed up, because the system rebuilds them from the databases: the portal and centre
# volumes (the notifier's worker reconciles when it starts and writes every page again) and
# Redis (queues and wake-ups; every owner's outbox is in its database). A restore empties
# them (/portal, /center, /redis-data), so nothing of the time after the backup is left
# there. The console-keys volume is left as it is.
set -eu

# Every service's database, as deploy/postgres/init-databases.sh creates them (tests/compose
# checks they agree; scripts/backup.py copies the same), the notifier first: its record of
# what each channel shows is then never ahead of the owners', so reconciliation after a
# restore only catches up. Attachments last: a file is stored before the row naming it.
DATABASES="notifier procedures content hotline console"
FORMAT="minhbach-backup/1"
BACKUPS="${MB_BACKUPS:-/backups}"
ATTACHMENTS="${MB_ATTACHMENTS:-/attachments}"
REBUILT="${MB_REBUILT:-/portal /center /redis-data}"

say() { printf '%s\n' "$*"; }
fail() {
    printf 'backup.sh: %s\n' "$*" >&2
    exit 1
}

# Remove what is in a directory, keeping the directory itself (a volume's mount point).
empty() {
    find "$1" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
}

create() {
    [ $# -eq 0 ] || fail "create takes no arguments"
    name=$(date -u +%Y%m%dT%H%M%SZ)
    created_at=$(printf '%s' "$name" | sed 's/^\(....\)\(..\)\(..\)T\(..\)\(..\)\(..\)Z$/\1-\2-\3T\4:\5:\6Z/')
    final="$BACKUPS/$name"
    [ ! -e "$final" ] || fail "$final already exists (one backup per second): try again"
    # Written aside and renamed when whole: a directory named by a time is a whole backup.
    partial="$BACKUPS/.$name.partial"
    rm -rf "$partial"
    mkdir -p "$partial/databases"
    trap 'rm -rf "$partial"' EXIT
    for db in $DATABASES; do
        # One transaction per database (pg_dump's snapshot): consistent while the system runs.
        pg_dump --format=custom --dbname="$db" --file="$partial/databases/$db.pgdump"
        say "backup: $db"
    done
    count=$(find "$ATTACHMENTS" -type f ! -name '.upload-*' | wc -l | tr -d ' ')
    tar -cf "$partial/attachments.tar" -C "$ATTACHMENTS" .
    say "backup: attachments ($count files)"

    files=""
    for path in $(cd "$partial" && find . -type f | sed 's|^\./||' | sort); do
        bytes=$(wc -c <"$partial/$path" | tr -d ' ')
        sum=$(sha256sum "$partial/$path" | cut -d ' ' -f 1)
        entry="    {\"path\": \"$path\", \"bytes\": $bytes, \"sha256\": \"$sum\"}"
        files="${files:+$files,
}$entry"
    done
    databases=""
    for db in $DATABASES; do
        databases="${databases:+$databases,
}    \"$db\": \"databases/$db.pgdump\""
    done
    cat >"$partial/manifest.json" <<EOF
{
  "format": "$FORMAT",
  "created_at": "$created_at",
  "engine": "postgresql",
  "databases": {
$databases
  },
  "attachments": {"path": "attachments.tar", "count": $count},
  "accounts": "the console's staff accounts are in databases/console.pgdump",
  "not_included": {
    "portal": "rebuilt by the notifier from the databases (reconcile at start)",
    "center": "rebuilt by the notifier from the databases (reconcile at start)",
    "redis": "queues and wake-ups only: the outboxes are in the databases, reconcile finds the rest",
    "console signing key": "the console-keys volume, left as it is"
  },
  "files": [
$files
  ]
}
EOF
    mv "$partial" "$final"
    trap - EXIT
    say "backup: $final"
}

restore() {
    force=no
    name=""
    for arg in "$@"; do
        case "$arg" in
            --force) force=yes ;;
            -*) fail "unknown option $arg (restore <backup name> [--force])" ;;
            *) name=$(basename "$arg") ;;
        esac
    done
    [ -n "$name" ] || fail "which backup? restore <name>, one of: $(ls "$BACKUPS" | tr '\n' ' ')"
    source="$BACKUPS/$name"
    manifest="$source/manifest.json"
    [ -f "$manifest" ] || fail "$source is not a backup: it has no manifest.json (the backups: $(ls "$BACKUPS" | tr '\n' ' '))"
    grep -q "\"format\": \"$FORMAT\"" "$manifest" || fail "$manifest is not of format $FORMAT"
    grep -q '"engine": "postgresql"' "$manifest" ||
        fail "$source holds SQLite copies (a local system's): restore it with make restore BACKUP=..."

    # Every file the manifest lists, at its SHA-256 (one file per line, as written above).
    sums=$(sed -n 's/^ *{"path": "\([^"]*\)", "bytes": [0-9]*, "sha256": "\([0-9a-f]\{64\}\)"}.*$/\2  \1/p' "$manifest")
    for wanted in $(for db in $DATABASES; do printf 'databases/%s.pgdump ' "$db"; done) attachments.tar; do
        printf '%s\n' "$sums" | grep -q "  $wanted\$" || fail "$source: the manifest lists no $wanted; not restored"
    done
    if ! (cd "$source" && printf '%s\n' "$sums" | sha256sum -c >/dev/null 2>&1); then
        (cd "$source" && printf '%s\n' "$sums" | sha256sum -c 2>&1 | grep -v ': OK$') >&2 || true
        fail "$source does not match its manifest (above), so it is not restored"
    fi
    say "restore: every file matches the manifest of $(sed -n 's/^ *"created_at": "\([^"]*\)".*/\1/p' "$manifest")"

    # The services keep connections open while they run.
    in_list=$(printf "'%s'," $DATABASES)
    connected=$(psql -X -q -t -A -c "SELECT count(*) FROM pg_stat_activity WHERE datname IN (${in_list%,}) AND pid <> pg_backend_pid()")
    if [ "$connected" != "0" ]; then
        [ "$force" = yes ] || fail "the system is running: $connected connections to the services' databases.
Stop it first: docker compose stop (this restore starts PostgreSQL by itself), then run the
restore again, then docker compose up -d. To restore over it anyway, cutting their
connections, add --force."
        say "restore: forced: $connected connections to the services' databases are cut"
    fi

    for db in $DATABASES; do
        psql -X -q -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" \
            -c "CREATE DATABASE \"$db\" OWNER \"$PGUSER\" ENCODING 'UTF8' TEMPLATE template0"
        pg_restore --dbname="$db" --no-owner --exit-on-error --single-transaction "$source/databases/$db.pgdump"
        say "restore: $db"
    done
    empty "$ATTACHMENTS"
    tar -xf "$source/attachments.tar" -C "$ATTACHMENTS"
    say "restore: attachments ($(find "$ATTACHMENTS" -type f | wc -l | tr -d ' ') files)"
    for directory in $REBUILT; do
        if [ -d "$directory" ]; then
            empty "$directory"
            say "restore: emptied $directory (rebuilt by the system)"
        fi
    done
    say "restore: done. Start the system: docker compose up -d (it migrates; the notifier rebuilds the portal and the centre)."
}

case "${1:-}" in
    create)
        shift
        create "$@"
        ;;
    restore)
        shift
        restore "$@"
        ;;
    *) fail "usage: backup.sh create | backup.sh restore <backup name> [--force]" ;;
esac
