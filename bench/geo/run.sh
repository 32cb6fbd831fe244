#!/usr/bin/env bash
# run.sh — the geometry benchmark on a release build: `awm geo-bench` (loading the 10m world
# land + countries, projecting + clipping them for an orthographic and a Robinson poster view),
# then, when node and tests/oracle/node_modules are there, the same views in d3-geo and the ratio.
# usage: bench/geo/run.sh [--runs N]
set -euo pipefail
source "$(dirname "$0")/../build.sh"
runs=10
if [ "${1:-}" = "--runs" ] && [ -n "${2:-}" ]; then runs=$2; fi
bench_build src/cli/awm
out=$(AWM_ASSETS_DIR="$root" nice -n 5 "$build/src/cli/awm" geo-bench --runs "$runs")
echo "$out"
if command -v node >/dev/null && [ -d "$root/tests/oracle/node_modules/d3-geo" ]; then
  d3=$(nice -n 5 node "$root/bench/geo/d3-bench.mjs" "$runs")
  echo "$d3"
  python3 - "$(echo "$out" | tail -1)" "$d3" <<'PY'
import json, sys
c, d = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"d3-geo / awm: orthographic {d['orthoMs'] / c['orthoMs']:.1f}x, robinson {d['robinsonMs'] / c['robinsonMs']:.1f}x")
PY
fi
