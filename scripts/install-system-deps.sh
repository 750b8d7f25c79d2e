#!/usr/bin/env bash
# What the test suite needs from Debian, installed when missing: a real redis-server,
# PostgreSQL server binaries (tests start their own throwaway cluster), and Chromium
# with Noto fonts for the browser tests (driven by Playwright; never `playwright install`),
# and Prometheus's and Alertmanager's tools for the monitoring's tests (promtool,
# prometheus, amtool: Debian's prometheus and prometheus-alertmanager, daemons not started).
# With --compose, also what the live compose test needs (make test-compose): Debian's
# Docker Engine (docker.io; the test starts dockerd when none answers) and debootstrap
# (for base images built from Debian's packages when the official ones can't be pulled).
set -euo pipefail

missing=()
if [[ "${1:-}" == --compose ]]; then
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
fi
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -f /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf ]] || missing+=(fonts-noto-core)
monitoring=()
command -v promtool >/dev/null 2>&1 || monitoring+=(prometheus)
command -v amtool >/dev/null 2>&1 || monitoring+=(prometheus-alertmanager)
((${#missing[@]} + ${#monitoring[@]})) || exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${missing[*]} ${monitoring[*]} (install them with apt-get as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
((${#missing[@]} == 0)) || apt-get install -y -qq "${missing[@]}" >/dev/null
if ((${#monitoring[@]})); then
  # The tools only: not the node exporter Debian recommends, and not the daemons Debian
  # starts on install (docker compose publishes 9090 and 9093 itself).
  apt-get install -y -qq --no-install-recommends "${monitoring[@]}" >/dev/null
  if [[ -d /run/systemd/system ]]; then
    systemctl disable --now prometheus prometheus-alertmanager >/dev/null 2>&1 || true
  fi
fi
