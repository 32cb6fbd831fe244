#!/bin/sh
# Runs tests/oracle/mesh-reference.mjs (topojson-client's mesh) over the world-atlas country
# layers, then test_mesh compares geo_mesh_borders with that reference.
# usage: run_mesh_oracle.sh <test_mesh binary> <output dir>
set -eu
test_bin=$1
out=$2/mesh-reference.json
oracle="$AWM_SOURCE_ROOT/tests/oracle"
if [ ! -d "$oracle/node_modules/topojson-client" ]; then
    echo "tests/oracle/node_modules/topojson-client is missing: run scripts/setup" >&2
    exit 1
fi
node "$oracle/mesh-reference.mjs" "$AWM_ASSETS_DIR/assets/node_modules/world-atlas" \
    countries-110m.json:countries countries-50m.json:countries countries-10m.json:countries > "$out.tmp"
mv "$out.tmp" "$out"
exec "$test_bin" "$out"
