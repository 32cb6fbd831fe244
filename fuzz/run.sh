#!/usr/bin/env bash
# run.sh [seconds] [target...] — build the libFuzzer targets with clang (AddressSanitizer +
# UndefinedBehaviorSanitizer) and run each for `seconds` (default 20), starting from the
# committed corpus fuzz/corpus/<target>. New inputs go to <build>/fuzz-corpus/<target>, crashes
# to <build>/fuzz-artifacts/. Prints executions per target; exits 1 on any crash, 77 (skip)
# when clang's libFuzzer is not installed. Build directory: $AWM_FUZZ_BUILD (default
# build-fuzz in the source tree; built with -Werror like every build). A crash reproducer
# belongs in fuzz/corpus/<target>/ once fixed.
#   fuzz/run.sh            # 20 s each
#   fuzz/run.sh 3600 api   # one hour on the API target
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(map topojson api s3xml png pdf)
build=${AWM_FUZZ_BUILD:-$root/build-fuzz}

if ! command -v clang >/dev/null || ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' |
     clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
  echo "clang with libFuzzer is not installed (apt install clang libclang-rt-14-dev): skipped"
  exit 77
fi
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$root" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C "$build" $(printf 'fuzz/fuzz_%s ' "${targets[@]}") >/dev/null || { ninja -C "$build" $(printf 'fuzz/fuzz_%s ' "${targets[@]}"); exit 1; }

export AWM_ASSETS_DIR=${AWM_ASSETS_DIR:-$root}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp}
failed=0
printf '%-10s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  work="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts"
  mkdir -p "$work" "$artifacts"
  log="$build/fuzz-$t.log"
  # One worker process; inputs up to 64 KiB; the committed corpus is read, never written.
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$artifacts/$t-" "$work" "$root/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  size=$(ls "$work" | wc -l)
  if [ $rc -eq 0 ]; then result=ok; else result="CRASH (rc $rc, see $log)"; failed=1; fi
  printf '%-10s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$size" "$result"
  [ $rc -ne 0 ] && grep -m3 -E 'ERROR|SUMMARY|Test unit written' "$log"
done
exit $failed
