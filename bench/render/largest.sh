# largest.sh — sourced at the end of bench/render/run.sh (kept apart from its size loop): the
# largest valid map (bench/render/largest_map.py, 100 people with as many places as 1 MiB holds, ~179 each) at 18x24 beside the
# sample (wall, CPU, peak RSS; one run each, the largest takes many seconds), then the sample's
# CPU split by phase (AWM_RENDER_PHASES=1: the RENDER_PHASES log line, ms summed over threads).
bench_largest() {
  python3 "$root/bench/render/largest_map.py" "$tmp/largest.json"
  local name map
  for name in sample largest; do
    if [ "$name" = sample ]; then map=(--sample); else map=("$tmp/largest.json"); fi
    rm -f "$tmp/one"
    python3 "$root/bench/measure.py" "$tmp/one" nice -n 5 "$awm" render "${map[@]}" "$tmp/l.png" --size 18x24 --quiet
    read -r wall rss user sys <"$tmp/one"
    printf '18x24 %-8s %8.2f s %9s %8.2f s %9s %11.1f MB\n' "$name" "$wall" "" "$(echo "$user + $sys" | bc)" "" "$(echo "$rss / 1024" | bc -l)"
  done
  AWM_RENDER_PHASES=1 "$awm" render --sample "$tmp/l.png" --size 18x24 --quiet 2>&1 |
    python3 -c 'import json,sys
for l in sys.stdin:
    if "RENDER_PHASES" in l:
        d = json.loads(l)["cpuMs"]; print("18x24 sample CPU by phase (ms): " + ", ".join(f"{k} {v}" for k, v in d.items()))'
}
