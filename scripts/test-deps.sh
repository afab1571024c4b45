#!/usr/bin/env bash
# Runs before `npm test`: the suite starts real redis-server processes and a headless Chromium
# (Debian packages, never a downloaded browser), and checks the alerting rules with promtool
# (Debian's `prometheus` package). Installs whichever is missing where apt-get can,
# so `npm install && npm test` works on a fresh Debian/Ubuntu machine; elsewhere it says what to install.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
  sudo=''
  [ "$(id -u)" -eq 0 ] || sudo='sudo'
  echo "test dependencies missing: ${missing[*]}; installing with apt-get" >&2
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" && exit 0
fi
echo "the tests need these installed: ${missing[*]} (Debian/Ubuntu: apt-get install -y ${missing[*]})" >&2
exit 1
