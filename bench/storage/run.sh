#!/usr/bin/env bash
# run.sh — the storage benchmark on a release build: a poster-sized file (default 40 MB) put
# into a local directory (rename; copy across filesystems) and uploaded to a private s3rver.
# usage: bench/storage/run.sh [megabytes] [runs]
set -euo pipefail
source "$(dirname "$0")/../build.sh"
bench_build bench/storage/storage_bench
AWM_SOURCE_ROOT="$root" AWM_ASSETS_DIR="$root" LOG_LEVEL=error nice -n 5 "$build/bench/storage/storage_bench" "$@"
