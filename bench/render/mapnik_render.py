#!/usr/bin/python3
"""mapnik_render.py — the Mapnik side of bench/render/mapnik.sh: draws what AWM draws for a map
with no people and no furniture layers (canvas, ocean, graticule, land fill and coast, border
mesh; MAPS-AND-PRINT.md §4 layers 1-5 with the theme's colours and AWM's widths) from the
shapefiles of mapnik_prep.mjs, at 300 DPI, fitted like AWM (d3's fitSize of the sphere into the
frame), and writes an RGB PNG.

  mapnik_render.py extent PREP_DIR PROJECTION PAGE_W PAGE_H FRAME_W FRAME_H   (untimed: writes
      PREP_DIR/extent.json, the map's bounding box in projected units)
  mapnik_render.py render PREP_DIR PROJECTION OUT.png PAGE_W PAGE_H COLOURS   (timed)
      COLOURS: canvas,ocean,land,landStroke,countryBorder,graticule as #rrggbb

Runs on Debian's python3-mapnik (Mapnik 3.1), so on /usr/bin/python3."""
import json
import os
import sys

import mapnik

R = 6371000.0
# The prepared coordinates are already rotated and clipped (mapnik_prep.mjs): every projection
# is centred on lon 0, lat 0.
SRS = {
    "orthographic": "+proj=ortho +lat_0=0 +lon_0=0",
    "equirectangular": "+proj=eqc +lat_ts=0 +lon_0=0",
    "mercator": "+proj=merc +lon_0=0",
    "naturalEarth1": "+proj=natearth +lon_0=0",
    "robinson": "+proj=robin +lon_0=0",
}
LONLAT = f"+proj=longlat +R={R:.0f} +no_defs"
PT = 300 / 72  # device pixels per point


def srs(kind):
    return f"{SRS[kind]} +R={R:.0f} +units=m +no_defs"


def extent(prep, kind, page_w, page_h, frame_w, frame_h):
    """d3's fitSize([frame], Sphere): the projected sphere's bounds, scaled to fit the frame and
    centred on it; the frame is centred on the page (the sample's frame is not reduced)."""
    proj = mapnik.ProjTransform(mapnik.Projection(LONLAT), mapnik.Projection(srs(kind)))
    ds = mapnik.Shapefile(file=os.path.join(prep, "sphere.shp"))
    xs, ys = [], []
    for feat in ds.all_features():
        for poly in feat.geometry.__geo_interface__["coordinates"]:
            for ring in poly if isinstance(poly[0][0], list) else [poly]:
                for lon, lat in ring:
                    c = proj.forward(mapnik.Coord(lon, lat))
                    xs.append(c.x)
                    ys.append(c.y)
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    scale = min(frame_w / (x1 - x0), frame_h / (y1 - y0))  # pixels per projected unit
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = page_w / 2 / scale, page_h / 2 / scale
    with open(os.path.join(prep, "extent.json"), "w") as f:
        json.dump([cx - hw, cy - hh, cx + hw, cy + hh], f)


def render(prep, kind, out, page_w, page_h, colours):
    canvas, ocean, land, land_stroke, border, graticule = colours.split(",")
    layer = lambda name, style: (
        f'<Layer name="{name}" srs="{LONLAT}"><StyleName>{style}</StyleName><Datasource>'
        f'<Parameter name="type">shape</Parameter>'
        f'<Parameter name="file">{os.path.join(prep, name)}.shp</Parameter></Datasource></Layer>')
    xml = f"""<Map srs="{srs(kind)}" background-color="{canvas}">
<Style name="ocean"><Rule><PolygonSymbolizer fill="{ocean}"/></Rule></Style>
<Style name="graticule"><Rule><LineSymbolizer stroke="{graticule}" stroke-width="{0.25 * PT}"
  stroke-dasharray="{2 * PT},{2 * PT}" stroke-linecap="butt"/></Rule></Style>
<Style name="land"><Rule><PolygonSymbolizer fill="{land}"/>
  <LineSymbolizer stroke="{land_stroke}" stroke-width="{0.5 * PT}"/></Rule></Style>
<Style name="borders"><Rule><LineSymbolizer stroke="{border}" stroke-width="{0.5 * PT}"/></Rule></Style>
{layer("sphere", "ocean")}
{layer("graticule", "graticule")}
{layer("land", "land")}
{layer("borders", "borders")}
</Map>"""
    m = mapnik.Map(page_w, page_h)
    mapnik.load_map_from_string(m, xml)
    with open(os.path.join(prep, "extent.json")) as f:
        m.zoom_to_box(mapnik.Box2d(*json.load(f)))
    im = mapnik.Image(page_w, page_h)
    mapnik.render(m, im)
    im.save(out, "png24:z=1")  # RGB, zlib level 1 (AWM's PNG is RGB at the fastest level too)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "extent":
        extent(args[0], args[1], *map(int, args[2:6]))
    elif mode == "render":
        render(args[0], args[1], args[2], int(args[3]), int(args[4]), args[5])
    else:
        sys.exit(__doc__)
