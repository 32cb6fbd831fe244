# build.sh — sourced by every bench/<part>/run.sh: sets $root and $build (a release build,
# $AWM_BENCH_BUILD or build-release) and builds the ninja targets given, so each benchmark
# measures the code as it is now.
#   source "$(dirname "$0")/../build.sh"; bench_build bench/api/api_bench src/cli/awm
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${AWM_BENCH_BUILD:-$root/build-release}"
bench_build() {
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" --buildtype=release >/dev/null
  fi
  ninja -C "$build" "$@" >/dev/null
}
