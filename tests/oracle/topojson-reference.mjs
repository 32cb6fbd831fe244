// topojson-reference.mjs — what topojson-client's feature() makes of the world-atlas layers,
// summarised for tests/geo/test_topojson.c: per feature its id, name and ring sizes, a sample of
// exact coordinates (every 997th point, plus the first and last point of every ring) and the
// sums of all x and all y, accumulated in the same order the C test uses.
//
// usage: node topojson-reference.mjs <world-atlas dir> <file>:<object> ... > reference.json
import { readFileSync } from "node:fs";
import { feature } from "topojson-client";

const SAMPLE_EVERY = 997;

// A feature's polygons, flattened the way geo_layer holds them (collections merged, points and
// lines dropped); each polygon is an array of rings.
function polygons(geometry, out = []) {
  if (geometry == null) return out;
  switch (geometry.type) {
    case "Polygon": if (geometry.coordinates.length) out.push(geometry.coordinates); break;
    case "MultiPolygon": for (const p of geometry.coordinates) if (p.length) out.push(p); break;
    case "GeometryCollection": for (const g of geometry.geometries) polygons(g, out); break;
  }
  return out;
}

const [dir, ...layers] = process.argv.slice(2);
const result = [];
for (const spec of layers) {
  const [file, object] = spec.split(":");
  const topology = JSON.parse(readFileSync(`${dir}/${file}`, "utf8"));
  const decoded = feature(topology, object);
  const features = decoded.type === "FeatureCollection" ? decoded.features : [decoded];
  const summary = { file, object, features: [], samples: [], sumx: 0, sumy: 0 };
  let serial = 0; // running point number across the layer, for the every-997th sample
  features.forEach((f, fi) => {
    const polys = polygons(f.geometry);
    summary.features.push({
      id: f.id == null ? null : String(f.id),
      name: f.properties.name ?? null,
      rings: polys.map((p) => p.map((r) => r.length)),
    });
    polys.forEach((p, pi) => p.forEach((r, ri) => r.forEach(([x, y], k) => {
      summary.sumx += x;
      summary.sumy += y;
      if (serial++ % SAMPLE_EVERY === 0 || k === 0 || k === r.length - 1)
        summary.samples.push([fi, pi, ri, k, x, y]);
    })));
  });
  result.push(summary);
}
process.stdout.write(JSON.stringify(result));
