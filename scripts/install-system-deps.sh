#!/usr/bin/env bash
# What the test suite needs from Debian, installed when missing: a real redis-server,
# PostgreSQL server binaries (tests start their own throwaway cluster), and Chromium
# with Noto fonts for the browser tests (driven by Playwright; never `playwright install`).
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -f /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf ]] || missing+=(fonts-noto-core)
((${#missing[@]})) || exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${missing[*]} (install them with apt-get as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
