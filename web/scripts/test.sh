#!/usr/bin/env bash
# The web UI's whole test run, from a clean checkout: Chromium (Debian's, for playwright-core),
# npm ci, `npm run check` (codegen:check, typecheck, unit/component tests, build) and the
# end-to-end stories against a real server (API_BIN, default /tmp/snap/api).
set -euo pipefail
cd "$(dirname "$0")/.."
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
  echo "test.sh: installing chromium (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

start=$(date +%s)
npm ci --no-audit --no-fund --loglevel=error
echo "test.sh: npm ci took $(( $(date +%s) - start )) s"
npm run check
echo "test.sh: npm ci + check took $(( $(date +%s) - start )) s"
npm run e2e
echo "test.sh: all took $(( $(date +%s) - start )) s"
