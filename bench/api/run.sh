#!/usr/bin/env bash
# run.sh — the API server benchmark on a release build: wrk (2 threads, 64 connections) against
# `awm serve` and a private PostgreSQL (fsync on), all on this machine.
# usage: bench/api/run.sh [seconds per run, default 10]
#        bench/api/run.sh --idle [N N ...]   idle connections held vs /api/health p99 (README)
# AWM_BIN runs another `awm` binary (e.g. an older build; give its AWM_ASSETS_DIR too).
set -euo pipefail
source "$(dirname "$0")/../build.sh"
bench_build bench/api/api_bench src/cli/awm src/cli/awm-server
# Thousands of idle connections need as many descriptors, in the bench and in the server.
ulimit -n "$(ulimit -Hn)"
AWM_ASSETS_DIR="${AWM_ASSETS_DIR:-$root}" "$build/bench/api/api_bench" "${AWM_BIN:-$build/src/cli/awm}" "$@"
