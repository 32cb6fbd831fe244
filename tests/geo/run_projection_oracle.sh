#!/bin/sh
# Runs tests/oracle/reference.mjs (d3-geo, d3-geo-projection, topojson-client) into the build
# directory, then test_projection_oracle compares the geometry engine with it. The reference
# is regenerated only when reference.mjs or the oracle's lockfile is newer than it.
# usage: run_projection_oracle.sh <test_projection_oracle binary> <output dir>
set -eu
test_bin=$1
out=$2/geo-oracle
oracle="$AWM_SOURCE_ROOT/tests/oracle"
if [ ! -d "$oracle/node_modules/d3-geo" ] || [ ! -d "$oracle/node_modules/d3-geo-projection" ]; then
    echo "tests/oracle/node_modules is missing: run scripts/setup (or npm ci in tests/oracle)" >&2
    exit 1
fi
if [ ! -f "$out/cases.json" ] || [ "$oracle/reference.mjs" -nt "$out/cases.json" ] ||
   [ "$oracle/package-lock.json" -nt "$out/cases.json" ]; then
    rm -rf "$out.tmp"
    node "$oracle/reference.mjs" "$out.tmp"
    rm -rf "$out"
    mv "$out.tmp" "$out"
fi
exec "$test_bin" "$out"
