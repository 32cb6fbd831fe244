#!/usr/bin/env bash
# run.sh — the web page's latencies on a release build: the live preview (GET /render of the
# sample map, 18x24 at 60 DPI, median of 30) and the place search, against `awm serve` and a
# private PostgreSQL on this machine.
# usage: bench/web/run.sh [preview requests, default 30]
set -euo pipefail
source "$(dirname "$0")/../build.sh"
bench_build bench/web/web_bench src/cli/awm
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
AWM_ASSETS_DIR="$root" nice "$build/bench/web/web_bench" "$build/src/cli/awm" "$@"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
