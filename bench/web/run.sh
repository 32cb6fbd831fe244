#!/usr/bin/env bash
# run.sh — the web page's latencies on a release build: the live preview (GET /render of the
# sample map, 18x24 at 60 DPI, median of 30) and the place search, against `awm serve` and a
# private PostgreSQL on this machine; then the page in chromium (bench/web/browser.mjs: first
# preview after navigation, preview after an edit), this tree's web/ interleaved with main's.
# usage: [AWM_BENCH_ROUNDS=15] [AWM_BENCH_BEFORE=main] bench/web/run.sh [preview requests, default 30]
set -euo pipefail
source "$(dirname "$0")/../build.sh"
bench_build bench/web/web_bench src/cli/awm src/cli/awm-server
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# The page in a browser, this tree's web/ against $AWM_BENCH_BEFORE's (default main), when
# tests/web's playwright-core and chromium are installed (scripts/setup).
before=$(mktemp -d)
trap 'rm -rf "$before"' EXIT
if [ -d "$root/tests/web/node_modules/playwright-core" ] && [ -x "${CHROMIUM:-/usr/bin/chromium}" ] &&
   git -C "$root" archive "${AWM_BENCH_BEFORE:-main}" web | tar -x -C "$before"; then
  export AWM_BENCH_BROWSER="$root/bench/web/browser.mjs" AWM_WEB_BEFORE="$before/web" AWM_WEB_AFTER="$root/web"
  export AWM_BENCH_ROUNDS="${AWM_BENCH_ROUNDS:-15}"
fi
AWM_ASSETS_DIR="$root" nice "$build/bench/web/web_bench" "$build/src/cli/awm" "$@"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
