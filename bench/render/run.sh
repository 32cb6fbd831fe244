#!/usr/bin/env bash
# run.sh — the poster benchmark: `awm render --sample` on a release build, N runs per size,
# printing the median wall time, CPU time (user + sys, steadier on a shared machine) and peak
# RSS of the whole process (bench/measure.py: rusage, to the µs) beside the targets, and checking
# each PNG's exact pixel size (IHDR) against the spec table.
# Then the 18x24 PDF (PDF/X-4, sRGB) and the CMYK PDF (through Ghostscript's default_cmyk.icc,
# or $AWM_BENCH_CMYK_PROFILE), the same way.
# Then the largest valid map beside the sample and the sample's CPU by phase (largest.sh), and AWM
# beside Mapnik on the same land, borders and graticule for every projection (mapnik.sh).
# usage: bench/render/run.sh [--runs N] [--all] [--only mapnik]
#   (--all: all 16 print sizes; --only mapnik: just the Mapnik comparison)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="${AWM_BENCH_BUILD:-$root/build-bench-render}"
runs=5
sizes=(12x16 18x24 24x36)
only=
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --all) sizes=(8x10 12x16 18x24 24x36 10x8 16x12 24x18 36x24 A4 A3 A2 A1
                  A4-landscape A3-landscape A2-landscape A1-landscape); shift ;;
    --only) only="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--all] [--only mapnik]" >&2; exit 2 ;;
  esac
done
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release >/dev/null
fi
ninja -C "$build" src/cli/awm >/dev/null
awm="$build/src/cli/awm"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export AWM_ASSETS_DIR="$root"
# The benchmark's own cache: another checkout with another GEO_DECODER_ID sharing ~/.cache/awm
# would rewrite the geography cache under the timing (0.4 s each time it does).
export AWM_CACHE_DIR="$build/cache"
# One warm-up: unpacks the fonts and writes the 10m geography cache (the detail of every size
# at 300 DPI) on a fresh checkout.
"$awm" render --sample "$tmp/warm.png" --size 8x10 --quiet
source "$root/bench/render/mapnik.sh"
if [ "$only" = mapnik ]; then
  bench_mapnik
  exit 0
fi

echo "cores: $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg), runs per size: $runs"
printf '%-13s %11s %9s %10s %9s %14s %9s  %s\n' size "wall (med)" target "cpu (med)" target "peak RSS (med)" target "pixels"
for size in "${sizes[@]}"; do
  : >"$tmp/times"
  for _ in $(seq "$runs"); do
    python3 "$root/bench/measure.py" "$tmp/times" nice -n 5 "$awm" render --sample "$tmp/p.png" --size "$size" --quiet
  done
  python3 - "$size" "$tmp/times" "$tmp/p.png" <<'PY'
import statistics, struct, sys
size, times, png = sys.argv[1:4]
rows = [line.split() for line in open(times) if line.strip()]
wall = statistics.median(float(r[0]) for r in rows)
rss = statistics.median(int(r[1]) for r in rows) / 1024
cpu = statistics.median(float(r[2]) + float(r[3]) for r in rows)
# MAPS-AND-PRINT.md §2: pixels = round((trim + 2 × 9 pt) / 72 × 300)
trim = {"8x10": (8, 10), "12x16": (12, 16), "18x24": (18, 24), "24x36": (24, 36),
        "A4": (8.27, 11.69), "A3": (11.69, 16.54), "A2": (16.54, 23.38), "A1": (23.38, 33.08)}
key = size.replace("-landscape", "")
if key in trim:
    w, h = trim[key]
else:
    h, w = trim["x".join(reversed(key.split("x")))]
if size.endswith("-landscape"):
    w, h = h, w
want = (round((w * 72 + 18) / 72 * 300), round((h * 72 + 18) / 72 * 300))
data = open(png, "rb").read(24)
got = struct.unpack(">II", data[16:24])
# The targets (#19): wall and CPU where set, peak RSS ≤ 80 MB at every size.
wall_target = {"18x24": 1.0, "24x36": 2.0}.get(size)
cpu_target = {"18x24": 0.9, "24x36": 1.2}.get(size)
print(f"{size:<13} {wall:9.2f} s {('≤ %.1f s' % wall_target) if wall_target else '':>9} {cpu:8.2f} s "
      f"{('≤ %.1f s' % cpu_target) if cpu_target else '':>9} "
      f"{rss:11.1f} MB {'≤ 80 MB':>9}  {got[0]}x{got[1]} {'ok' if got == want else 'WRONG, want %dx%d' % want}")
PY
done

# PDF and CMYK PDF, 18x24: the whole process, wall / CPU / peak RSS (medians).
cmyk="${AWM_BENCH_CMYK_PROFILE:-/usr/share/color/icc/ghostscript/default_cmyk.icc}"
for kind in pdf pdf-cmyk; do
  extra=()
  if [ "$kind" = pdf-cmyk ]; then
    [ -r "$cmyk" ] || { echo "pdf-cmyk: no CMYK profile at $cmyk (libgs-common)"; continue; }
    extra=(--cmyk-profile "$cmyk")
  fi
  : >"$tmp/times"
  for _ in $(seq "$runs"); do
    python3 "$root/bench/measure.py" "$tmp/times" nice -n 5 "$awm" render --sample "$tmp/p.pdf" --size 18x24 \
      --quiet "${extra[@]}"
  done
  python3 - "$kind" "$tmp/times" "$tmp/p.pdf" <<'PY'
import os, statistics, sys
kind, times, pdf = sys.argv[1:4]
rows = [line.split() for line in open(times) if line.strip()]
wall = statistics.median(float(r[0]) for r in rows)
rss = statistics.median(int(r[1]) for r in rows) / 1024
cpu = statistics.median(float(r[2]) + float(r[3]) for r in rows)
print(f"18x24 {kind:<8} {wall:8.2f} s {'':>9} {cpu:8.2f} s {'':>9} {rss:11.1f} MB {'':>9}  {os.path.getsize(pdf) / 1e6:.1f} MB file")
PY
done

# The largest valid map beside the sample, and the sample's CPU split by phase (largest.sh).
source "$root/bench/render/largest.sh"
bench_largest

# AWM beside Mapnik, every projection (mapnik.sh).
bench_mapnik
