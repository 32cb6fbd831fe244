#!/usr/bin/env bash
# simplify.sh [--runs N] [--size SIZE] — the geometry simplified to the output against every
# point: `awm render --sample` (release build, bench/build.sh) with AWM_SIMPLIFY=0 and with the
# default, interleaved (0, 1, 0, 1, …) so a change in the machine's load hits both alike. Prints
# the load average, each side's median [range] of wall, CPU (user + sys) and peak RSS, then the
# medians of each phase's CPU (AWM_RENDER_PHASES=1, ms summed over the band threads).
set -euo pipefail
source "$(dirname "$0")/../build.sh"
runs=9
size=18x24
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--size SIZE]" >&2; exit 2 ;;
  esac
done
bench_build src/cli/awm
awm="$build/src/cli/awm"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export AWM_ASSETS_DIR="$root"
# One warm-up: unpacks the fonts and writes the 10m geography's cache (2,000 px wide or more)
# on a fresh checkout, so no timed run decodes the JSON.
"$awm" render --sample "$tmp/warm.png" --size 18x24 --dpi 120 --quiet

echo "cores: $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg), $runs interleaved runs each, $size"
for _ in $(seq "$runs"); do
  for s in 0 1; do
    AWM_SIMPLIFY=$s python3 "$root/bench/measure.py" "$tmp/times-$s" "$awm" render --sample "$tmp/p.png" \
      --size "$size" --quiet
    AWM_SIMPLIFY=$s AWM_RENDER_PHASES=1 "$awm" render --sample "$tmp/p.png" --size "$size" 2>>"$tmp/log-$s" >/dev/null
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp" <<'PY'
import json, statistics, sys
tmp = sys.argv[1]
for s, label in (("0", "AWM_SIMPLIFY=0 (every point)"), ("1", "simplified (default)")):
    rows = [l.split() for l in open(f"{tmp}/times-{s}") if l.strip()]
    def col(f):
        v = [f(r) for r in rows]
        return f"{statistics.median(v):.3f} [{min(v):.2f}-{max(v):.2f}]"
    print(f"{label:<30} wall {col(lambda r: float(r[0]))} s, cpu {col(lambda r: float(r[2]) + float(r[3]))} s, "
          f"peak {col(lambda r: int(r[1]) / 1024)} MB")
    phases = [json.loads(l)["cpuMs"] for l in open(f"{tmp}/log-{s}") if "RENDER_PHASES" in l]
    if phases:
        print(f"{'':<30} ms: " + ", ".join(f"{k} {statistics.median(p[k] for p in phases):.0f}" for k in phases[0]))
PY
