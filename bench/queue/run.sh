#!/usr/bin/env bash
# run.sh — the queue benchmark on a release build and a private PostgreSQL (fsync on).
# usage: bench/queue/run.sh [--quick]   (set DATABASE_URL to use an existing, migrated database)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="${AWM_BENCH_BUILD:-$root/build-release}"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release >/dev/null
fi
ninja -C "$build" bench/queue/queue_bench >/dev/null
AWM_ASSETS_DIR="$root" nice -n 5 "$build/bench/queue/queue_bench" "$@"
