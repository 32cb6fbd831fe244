#!/usr/bin/env bash
# run.sh — the API server benchmark on a release build: wrk (2 threads, 64 connections) against
# `awm serve` and a private PostgreSQL (fsync on), all on this machine.
# usage: bench/api/run.sh [seconds per run, default 10]
set -euo pipefail
source "$(dirname "$0")/../build.sh"
bench_build bench/api/api_bench src/cli/awm
AWM_ASSETS_DIR="$root" "$build/bench/api/api_bench" "$build/src/cli/awm" "$@"
