#!/usr/bin/env bash
# Makes web/dist current, doing nothing (fast) when it already is:
#  - `npm ci` when node_modules is missing or older than package-lock.json;
#  - `npm run build` when dist/index.html is missing or older than any input of the build.
# The server's run command calls it before serving WEB_DIR=web/dist.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-built: installing dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

stale=""
if [ ! -f dist/index.html ] || [ ! -f dist/graphiql.html ]; then
  stale="dist is missing"
else
  newer=$(find src index.html graphiql.html package-lock.json package.json vite.config.ts tsconfig.json \
    -newer dist/index.html -print -quit 2>/dev/null || true)
  [ -n "$newer" ] && stale="$newer changed"
fi
if [ -n "$stale" ]; then
  echo "ensure-built: building web/dist ($stale)" >&2
  npm run --silent build 1>&2
fi
