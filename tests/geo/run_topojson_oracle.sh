#!/bin/sh
# Runs tests/oracle/topojson-reference.mjs (topojson-client) over the world-atlas assets, then
# test_topojson compares its own decoding with that reference.
# usage: run_topojson_oracle.sh <test_topojson binary> <output dir>
set -eu
test_bin=$1
out=$2/topojson-reference.json
oracle="$AWM_SOURCE_ROOT/tests/oracle"
if [ ! -d "$oracle/node_modules/topojson-client" ]; then
    echo "tests/oracle/node_modules/topojson-client is missing: run scripts/setup" >&2
    exit 1
fi
node "$oracle/topojson-reference.mjs" "$AWM_ASSETS_DIR/assets/node_modules/world-atlas" \
    land-110m.json:land countries-110m.json:countries land-50m.json:land countries-50m.json:countries \
    land-10m.json:land countries-10m.json:countries > "$out.tmp"
mv "$out.tmp" "$out"
exec "$test_bin" "$out"
