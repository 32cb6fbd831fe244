#!/bin/sh
# Runs a topojson-client reference script of tests/oracle (topojson-reference.mjs: the decoded
# layers; mesh-reference.mjs: the country borders) over world-atlas layers, then the test
# binary compares AWM's own result with that reference.
# usage: run_atlas_oracle.sh <name> <test binary> <output dir> <file.json:object>...
# (tests/oracle/<name>-reference.mjs writes <output dir>/<name>-reference.json)
set -eu
name=$1
test_bin=$2
out=$3/$name-reference.json
shift 3
oracle="$AWM_SOURCE_ROOT/tests/oracle"
if [ ! -d "$oracle/node_modules/topojson-client" ]; then
    echo "tests/oracle/node_modules/topojson-client is missing: run scripts/setup" >&2
    exit 1
fi
node "$oracle/$name-reference.mjs" "$AWM_ASSETS_DIR/assets/node_modules/world-atlas" "$@" > "$out.tmp"
mv "$out.tmp" "$out"
exec "$test_bin" "$out"
