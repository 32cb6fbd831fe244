#!/usr/bin/env bash
# run_pgboss.sh — AWM workers on the pgboss backend beside pg-boss 12.5.2's own worker, one run
# (about a minute) on a release build and a private PostgreSQL (fsync on). Figures: README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="${AWM_BENCH_BUILD:-$root/build-release}"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release >/dev/null
fi
[ -d "$root/tests/pgboss/node_modules/pg-boss" ] || "$root/scripts/setup"
ninja -C "$build" bench/queue/pgboss_bench >/dev/null
AWM_ASSETS_DIR="$root" AWM_SOURCE_ROOT="$root" nice -n 5 "$build/bench/queue/pgboss_bench" "$@"
