#!/usr/bin/env bash
# Base images for the live compose test (tests/compose/test_live.py).
#
# For each base image docker-compose.yml pins (python, redis, postgres, nginx,
# prometheus, alertmanager): the official image when this engine has it or can pull it,
# else a stand-in built here from Debian's own packages: a minimal bookworm root
# filesystem (debootstrap, then docker import), and on it python3 with a venv,
# redis-server, PostgreSQL, nginx, Prometheus or Alertmanager.
# Stand-ins are tagged by a digest of this folder and reused while it is unchanged.
#
# Prints one `VARIABLE=image` line per base image (MB_PYTHON_IMAGE=..., for docker
# compose's environment) on stdout, and what it did on stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
compose="$root/docker-compose.yml"
mirror=${MB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=minhbach-standin/bookworm:minbase
digest=$(cat "$here"/*.Dockerfile "$here"/*.sh | sha256sum | cut -c1-12)

say() { printf 'standins: %s\n' "$*" >&2; }

# The default of ${VARIABLE:-default} in docker-compose.yml: the official pin.
pinned() {
    sed -n "s/.*\${$1:-\([^}]*\)}.*/\1/p" "$compose" | head -n1
}

have() { docker image inspect "$1" >/dev/null 2>&1; }

ensure_base() {
    have "$base" && return 0
    command -v debootstrap >/dev/null || { say "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
    local rootfs
    rootfs=$(mktemp -d /var/tmp/minhbach-rootfs.XXXXXX)
    say "debootstrap bookworm (minbase) from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
        || { tail -n 30 "$rootfs.log" >&2; rm -rf "$rootfs" "$rootfs.log"; exit 1; }
    # docker import gives no sources list beyond the mirror debootstrap used: keep it.
    tar -C "$rootfs" -c . | docker import -m "debootstrap --variant=minbase bookworm" - "$base" >/dev/null
    rm -rf "$rootfs" "$rootfs.log"
    say "imported $base"
}

names=(python redis postgres nginx prometheus alertmanager)
declare -A variables=([python]=MB_PYTHON_IMAGE [redis]=MB_REDIS_IMAGE [postgres]=MB_POSTGRES_IMAGE
    [nginx]=MB_NGINX_IMAGE [prometheus]=MB_PROMETHEUS_IMAGE [alertmanager]=MB_ALERTMANAGER_IMAGE)
declare -A chosen=()
builds=()
for name in "${names[@]}"; do
    variable=${variables[$name]}
    official=$(pinned "$variable")
    [[ -n "$official" ]] || { say "no \${$variable:-...} default in docker-compose.yml"; exit 1; }
    if have "$official" || timeout 120 docker pull -q "$official" >/dev/null 2>&1; then
        say "$official: the official image"
        chosen[$name]=$official
    elif have "minhbach-standin/$name:$digest"; then
        say "$official: not available, stand-in minhbach-standin/$name:$digest (reused)"
        chosen[$name]=minhbach-standin/$name:$digest
    else
        chosen[$name]=minhbach-standin/$name:$digest
        builds+=("$name")
    fi
done

if ((${#builds[@]})); then
    ensure_base
    logs=$(mktemp -d)
    pids=()
    for name in "${builds[@]}"; do
        docker build -q --build-arg "BASE=$base" -t "minhbach-standin/$name:$digest" \
            -f "$here/$name.Dockerfile" "$here" >"$logs/$name.log" 2>&1 &
        pids+=($!)
    done
    failed=0
    for i in "${!builds[@]}"; do
        name=${builds[$i]}
        if wait "${pids[$i]}"; then
            say "$(pinned "${variables[$name]}"): not available, stand-in minhbach-standin/$name:$digest (built)"
        else
            say "building the $name stand-in failed:"; tail -n 30 "$logs/$name.log" >&2; failed=1
        fi
    done
    rm -rf "$logs"
    ((failed == 0)) || exit 1
fi

for name in "${names[@]}"; do
    printf '%s=%s\n' "${variables[$name]}" "${chosen[$name]}"
done
