#!/usr/bin/env bash
# run.sh — the worker's end-to-end benchmark on a release build: a private PostgreSQL,
# `awm serve` and `awm worker` processes, local storage.
# usage: bench/worker/run.sh [--quick]
set -euo pipefail
source "$(dirname "$0")/../build.sh"
bench_build src/cli/awm src/cli/awm-server bench/worker/worker_bench
AWM_ASSETS_DIR="$root" AWM_BUILD_ROOT="$build" nice -n 5 "$build/bench/worker/worker_bench" "$@"
