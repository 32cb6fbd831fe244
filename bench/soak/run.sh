#!/usr/bin/env bash
# run.sh [seconds] — the soak: `awm serve` under wrk load for `seconds` (default 600) while an
# `awm worker` renders an export per second; the resident memory of both is sampled every 10 s
# and the run fails (exit 1) if either grew by more than 10 % after the warm-up (SOAK_WARMUP_S,
# default 60 s). Release build ($AWM_BENCH_BUILD, default build-release).
#   bench/soak/run.sh        # 10 minutes
#   bench/soak/run.sh 60     # a quick look
set -euo pipefail
source "$(dirname "$0")/../build.sh"
bench_build src/cli/awm src/cli/awm-server bench/soak/soak_bench
command -v wrk >/dev/null || { echo "wrk is not installed (apt install wrk)"; exit 2; }
AWM_ASSETS_DIR="$root" AWM_BUILD_ROOT="$build" "$build/bench/soak/soak_bench" "${1:-600}"
