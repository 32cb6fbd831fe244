# mapnik.sh — sourced by bench/render/run.sh (kept apart from its size loop): AWM beside Mapnik
# 3.1 (Debian's python3-mapnik, installed with apt-get when missing) on the same content at
# 18x24, 300 DPI (5475 x 7275 px incl. bleed), for every projection AWM draws.
#
# The content is MAPS-AND-PRINT.md §4 layers 1-5: canvas, ocean, graticule, land fill and coast,
# the border mesh, from the same world-atlas 10m data. AWM draws bench/render/mapnik_map.json
# (the sample's title, theme and rotation, one person with no places, no legend, no QR, no labels;
# the title box and the attribution are still drawn: their CPU is the furniture phase printed).
# Mapnik reads shapefiles that mapnik_prep.mjs made from the TopoJSON, already rotated and clipped
# at the antimeridian or the globe's horizon (Mapnik cannot clip there itself); that preparation
# and the fitting of the map to AWM's frame are not timed. Each projection: N interleaved runs of
# each (awm, then Mapnik), the medians of wall, CPU (user + sys) and peak RSS (bench/measure.py: rusage, to the µs) of
# the whole process (for Mapnik: python3, `import mapnik`, loading the map, rendering, PNG
# zlib level 1), the ratios AWM ÷ Mapnik, then AWM's CPU by phase (AWM_RENDER_PHASES=1).
bench_mapnik() {
  local py=/usr/bin/python3 here="$root/bench/render"
  if ! "$py" -c 'import mapnik' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "mapnik: installing python3-mapnik (apt-get)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-mapnik >/dev/null
    else
      echo "mapnik: skipped, python3-mapnik is not installed (apt-get install python3-mapnik)"
      return 0
    fi
  fi
  [ -d "$root/tests/oracle/node_modules/d3-geo" ] || { echo "mapnik: skipped, run scripts/setup (tests/oracle npm)"; return 0; }
  local page_w=5475 page_h=7275 frame_w=4950 frame_h=6750 # 18x24: page incl. bleed, and the frame (§3), in px
  # The theme's colours from awm itself: canvas, ocean, land, landStroke, countryBorder, graticule.
  local colours
  colours=$("$awm" themes --json | python3 -c 'import json, sys
t = next(t for t in json.load(sys.stdin) if t["id"] == "antique-parchment")["colors"]
print(",".join(t[k] for k in ("canvasBackground", "ocean", "land", "landStroke", "countryBorder", "graticule")))')
  echo
  echo "AWM beside Mapnik $("$py" -c 'import mapnik; v = mapnik.mapnik_version(); print(f"{v // 100000}.{v // 100 % 1000}.{v % 100}")'), 18x24 at 300 DPI (${page_w}x${page_h} px): land, borders, graticule"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg), runs: $runs interleaved, medians; CPU = user + sys"
  printf '%-16s %19s %19s %15s %15s\n' projection "AWM wall/CPU" "Mapnik wall/CPU" "peak RSS A/M" "AWM÷Mapnik w/c"
  local kind i
  for kind in orthographic equirectangular mercator naturalEarth1 robinson; do
    node "$here/mapnik_prep.mjs" "$tmp/mapnik/$kind" "$kind" -20 -30 0
    "$py" "$here/mapnik_render.py" extent "$tmp/mapnik/$kind" "$kind" $page_w $page_h $frame_w $frame_h
    : >"$tmp/awm.times"
    : >"$tmp/mapnik.times"
    for i in $(seq "$runs"); do
      python3 "$root/bench/measure.py" "$tmp/awm.times" nice -n 5 "$awm" render "$here/mapnik_map.json" \
        "$tmp/awm.png" --size 18x24 --projection "$kind" --quiet
      python3 "$root/bench/measure.py" "$tmp/mapnik.times" nice -n 5 "$py" "$here/mapnik_render.py" render \
        "$tmp/mapnik/$kind" "$kind" "$tmp/mapnik.png" $page_w $page_h "$colours" 2>"$tmp/mapnik.err" ||
        { cat "$tmp/mapnik.err" >&2; return 1; }
    done
    python3 - "$kind" "$tmp/awm.times" "$tmp/mapnik.times" "$tmp/awm.png" "$tmp/mapnik.png" $page_w $page_h <<'PY'
import statistics, struct, sys
kind, awm, mapnik, awm_png, mapnik_png = sys.argv[1:6]
want = tuple(map(int, sys.argv[6:8]))
def med(path):
    rows = [l.split() for l in open(path) if l.strip()]
    return (statistics.median(float(r[0]) for r in rows),
            statistics.median(float(r[2]) + float(r[3]) for r in rows),
            statistics.median(int(r[1]) for r in rows) / 1024)
(aw, ac, ar), (mw, mc, mr) = med(awm), med(mapnik)
size = lambda png: struct.unpack(">II", open(png, "rb").read(24)[16:24])
ok = "" if size(awm_png) == want == size(mapnik_png) else f"  WRONG SIZE {size(awm_png)} {size(mapnik_png)}"
target = "  (globe targets: ≤ 0.20 / ≤ 0.35)" if kind == "orthographic" else ""
print(f"{kind:<16} {aw:6.3f} s {ac:6.3f} s  {mw:6.3f} s {mc:6.3f} s  {ar:5.0f} {mr:5.0f} MB"
      f"  {aw / mw:6.3f} {ac / mc:6.3f}{target}{ok}")
PY
  done
  for kind in orthographic equirectangular mercator naturalEarth1 robinson; do
    AWM_RENDER_PHASES=1 "$awm" render "$here/mapnik_map.json" "$tmp/awm.png" --size 18x24 --projection "$kind" \
      --quiet 2>&1 | python3 -c 'import json, sys
for l in sys.stdin:
    if "RENDER_PHASES" in l:
        d = json.loads(l)["cpuMs"]
        print(f"AWM {sys.argv[1]} CPU by phase (ms): " + ", ".join(f"{k} {v}" for k, v in d.items()))' "$kind"
  done
}
