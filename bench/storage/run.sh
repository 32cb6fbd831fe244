#!/usr/bin/env bash
# run.sh — the storage benchmark on a release build: a poster-sized file (default 40 MB) put
# into a local directory (rename; copy across filesystems) and uploaded to a private s3rver.
# usage: bench/storage/run.sh [megabytes] [runs]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="${AWM_BENCH_BUILD:-$root/build-release}"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release >/dev/null
fi
ninja -C "$build" bench/storage/storage_bench >/dev/null
AWM_SOURCE_ROOT="$root" AWM_ASSETS_DIR="$root" LOG_LEVEL=error nice -n 5 "$build/bench/storage/storage_bench" "$@"
