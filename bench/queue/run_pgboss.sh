#!/usr/bin/env bash
# run_pgboss.sh — AWM workers on the pgboss backend beside pg-boss 12.5.2's own worker, one run
# (about 2 minutes, mostly waiting out pg-boss's polling) on a release build and a private
# PostgreSQL (fsync on). Figures: README.md.
set -euo pipefail
source "$(dirname "$0")/../build.sh"
[ -d "$root/tests/pgboss/node_modules/pg-boss" ] || "$root/scripts/setup"
bench_build bench/queue/pgboss_bench
AWM_ASSETS_DIR="$root" AWM_SOURCE_ROOT="$root" nice -n 5 "$build/bench/queue/pgboss_bench" "$@"
