#!/usr/bin/env bash
# run.sh — the worker's end-to-end benchmark on a release build: a private PostgreSQL,
# `awm serve` and `awm worker` processes, local storage.
# usage: bench/worker/run.sh [--quick]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="${AWM_BENCH_BUILD:-$root/build-release}"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release >/dev/null
fi
ninja -C "$build" src/cli/awm bench/worker/worker_bench >/dev/null
AWM_ASSETS_DIR="$root" AWM_BUILD_ROOT="$build" nice -n 5 "$build/bench/worker/worker_bench" "$@"
