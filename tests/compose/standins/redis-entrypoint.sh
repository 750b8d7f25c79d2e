#!/bin/sh
# The official image builds redis with protected mode off; Debian's keeps it on, which
# refuses every client from another container when no password is set.
set -eu
case "${1:-}" in -*) set -- redis-server "$@" ;; esac
if [ "${1:-}" = redis-server ]; then
    set -- "$@" --protected-mode no
fi
exec "$@"
