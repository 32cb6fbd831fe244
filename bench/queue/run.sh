#!/usr/bin/env bash
# run.sh — the queue benchmark on a release build and a private PostgreSQL (fsync on).
# usage: bench/queue/run.sh [--quick]   (set DATABASE_URL to use an existing, migrated database)
set -euo pipefail
source "$(dirname "$0")/../build.sh"
bench_build bench/queue/queue_bench
AWM_ASSETS_DIR="$root" nice -n 5 "$build/bench/queue/queue_bench" "$@"
