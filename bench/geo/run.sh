#!/usr/bin/env bash
# run.sh — the geometry benchmark (`awm geo-bench`) on a release build: loading the 10m world
# land + countries and projecting + clipping them for an orthographic and a Robinson poster view.
# usage: bench/geo/run.sh [--runs N] [--detail 10m|50m|110m]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="${AWM_BENCH_BUILD:-$root/build-release}"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release >/dev/null
fi
ninja -C "$build" src/cli/awm >/dev/null
AWM_ASSETS_DIR="$root" nice -n 5 "$build/src/cli/awm" geo-bench "$@"
