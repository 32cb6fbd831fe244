// reference.mjs — writes d3-geo's answers for the geometry engine's comparison test.
//
//   node reference.mjs OUT_DIR
//
// Writes OUT_DIR/cases.json (one entry per case: the projection set-up, d3's fitted scale and
// translate, projected probe points, areas and ring counts of the projected land and
// countries, sphere and graticule measures, great-circle lines) and the decoded lon/lat
// geography the cases use (OUT_DIR/world-<detail>-<object>.json), so the C test streams
// exactly the coordinates d3 streamed. Everything is deterministic (seeded PRNG).
import {readFileSync, writeFileSync, mkdirSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";
import {geoOrthographic, geoEquirectangular, geoMercator, geoNaturalEarth1, geoGraticule10,
        geoStream} from "d3-geo";
import {geoRobinson} from "d3-geo-projection";
import {feature} from "topojson-client";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = process.argv[2];
if (!outDir) {
  console.error("usage: node reference.mjs OUT_DIR");
  process.exit(2);
}
mkdirSync(outDir, {recursive: true});

const FACTORIES = {
  orthographic: geoOrthographic,
  equirectangular: geoEquirectangular,
  mercator: geoMercator,
  naturalEarth1: geoNaturalEarth1,
  robinson: geoRobinson,
};
const KINDS = Object.keys(FACTORIES);

// mulberry32: a small seeded PRNG so the case list never changes between runs.
function prng(seed) {
  return function() {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(20261128);
const round3 = (x) => Math.round(x * 1000) / 1000;

// ---- geography --------------------------------------------------------------------------
function loadLayer(detail, object) {
  const path = join(here, "node_modules/world-atlas", `${object}-${detail}.json`);
  const topo = JSON.parse(readFileSync(path, "utf8"));
  const fc = feature(topo, topo.objects[object]);
  const features = fc.type === "FeatureCollection" ? fc.features : [fc];
  const out = features.map((f) => {
    const g = f.geometry;
    const polygons = !g ? [] : g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    return {id: f.id ?? null, name: (f.properties && f.properties.name) ?? null, polygons};
  });
  writeFileSync(join(outDir, `world-${detail}-${object}.json`), JSON.stringify(out));
  return out;
}
const layers = {};
for (const detail of ["110m", "50m", "10m"]) {
  layers[detail] = {land: loadLayer(detail, "land"), countries: loadLayer(detail, "countries")};
}

// ---- a recording stream: the subpaths d3's path context would draw ----------------------
function recorder() {
  let subpaths = [], inPolygon = false, current = null;
  return {
    stream: {
      point(x, y) { if (current) current.points.push(x, y); },
      lineStart() { current = {closed: inPolygon, points: []}; },
      lineEnd() { if (current && current.points.length) subpaths.push(current); current = null; },
      polygonStart() { inPolygon = true; },
      polygonEnd() { inPolygon = false; },
      sphere() {},
    },
    take() { const s = subpaths; subpaths = []; return s; },
  };
}

// path/area.js convention: a ring adds Σ (y0·x1 − x0·y1) / 2, closing edge included.
function ringArea(p) {
  const n = p.length / 2;
  let sum = 0, x0 = p[0], y0 = p[1];
  for (let j = 1; j <= n; j++) {
    const x = p[(j % n) * 2], y = p[(j % n) * 2 + 1];
    sum += y0 * x - x0 * y;
    x0 = x, y0 = y;
  }
  return sum / 2;
}
function length(subpaths) {
  let total = 0;
  for (const s of subpaths) {
    const p = s.points, n = p.length / 2;
    for (let j = 1; j < n; j++) total += Math.hypot(p[2 * j] - p[2 * j - 2], p[2 * j + 1] - p[2 * j - 1]);
    if (s.closed && n > 1) total += Math.hypot(p[0] - p[2 * n - 2], p[1] - p[2 * n - 1]);
  }
  return total;
}
function measure(subpaths) {
  let area = 0, ringsLo = 0, ringsMid = 0, ringsHi = 0;
  for (const s of subpaths) {
    if (!s.closed) continue;
    const a = ringArea(s.points);
    area += a;
    if (Math.abs(a) >= 0.0099) ringsLo++;   // rings of 0.01 pt² ± 1 % may fall either way
    if (Math.abs(a) >= 0.01) ringsMid++;
    if (Math.abs(a) >= 0.0101) ringsHi++;
  }
  return {area, rings: [ringsHi, ringsMid, ringsLo]};
}

// ---- cases --------------------------------------------------------------------------------
function makeProjection(c, withExtent = true) {
  const p = FACTORIES[c.kind]();
  p.rotate(c.rotate).precision(c.precision);
  if (c.frame) {
    p.fitExtent([[c.frame[0], c.frame[1]], [c.frame[2], c.frame[3]]], {type: "Sphere"});
  }
  if (c.zoom !== 1) p.scale(p.scale() * c.zoom);
  if (withExtent && c.extent) p.clipExtent([[c.extent[0], c.extent[1]], [c.extent[2], c.extent[3]]]);
  return p;
}

const POSTER = [63, 63, 63 + 1188, 63 + 1620];      // an 18×24 in frame at 72 pt/in, 63 pt margin
const LANDSCAPE = [40, 40, 40 + 1660, 40 + 1150];
const NAMED_ROTATIONS = [
  [0, 0, 0], [-20, -30, 0], [0, 90, 0], [0, -90, 0], [180, 0, 0], [-180, 0, 0],
  [170, -20, 15], [10, 45, 30], [-100, -60, -45], [-150, 10, 0], [90, 0, 0], [-75, -40, 0],
];
const cases = [];
function addCase(name, kind, rotate, frame, zoom, extent, dataset) {
  cases.push({name, kind, rotate, frame, zoom, extent, precision: Math.sqrt(0.5), dataset});
}
// Named cases the C test refers to (keep these first and their names stable).
addCase("ortho-europe", "orthographic", [-20, -30, 0], POSTER, 1, null, "110m");
addCase("ortho-north-pole", "orthographic", [0, -90, 0], POSTER, 1, null, "110m");
addCase("ortho-south-pole", "orthographic", [0, 90, 0], POSTER, 1, null, "110m");
addCase("ortho-antimeridian", "orthographic", [180, 0, 0], POSTER, 1, null, "110m");
addCase("ortho-zoom-extent", "orthographic", [-20, -30, 0], POSTER, 2.5, POSTER, "110m");
addCase("equirect-antimeridian", "equirectangular", [180, 0, 0], LANDSCAPE, 1, null, "110m");
addCase("robinson-pacific", "robinson", [-150, 0, 0], LANDSCAPE, 1, null, "110m");
addCase("mercator-default", "mercator", [0, 0, 0], LANDSCAPE, 1, null, "110m");
addCase("mercator-zoom-extent", "mercator", [-20, 0, 0], LANDSCAPE, 3, LANDSCAPE, "110m");
addCase("ortho-europe-10m", "orthographic", [-20, -30, 0], POSTER, 1, null, "10m");
addCase("robinson-10m", "robinson", [0, 0, 0], LANDSCAPE, 1, null, "10m");

for (const kind of KINDS) {
  const rotations = NAMED_ROTATIONS.slice();
  for (let i = 0; i < 26; i++) {
    const withGamma = i % 2 === 0;
    rotations.push([round3(random() * 360 - 180), round3(random() * 180 - 90), withGamma ? round3(random() * 360 - 180) : 0]);
  }
  rotations.forEach((rotate, i) => {
    const frame = i % 3 === 2 ? LANDSCAPE : POSTER;
    const zoom = i % 5 === 3 ? 1.5 : i % 7 === 4 ? 3 : 1;
    const extent = zoom !== 1 || i % 6 === 5 ? frame : null;
    addCase(`${kind}-${i}`, kind, rotate, frame, zoom, extent, "110m");
  });
  // A few at full detail.
  addCase(`${kind}-10m-a`, kind, [round3(random() * 360 - 180), round3(random() * 60 - 30), 0], POSTER, 1, null, "10m");
}
addCase("ortho-10m-zoom", "orthographic", [-100, -40, 0], POSTER, 2, POSTER, "10m");
addCase("ortho-50m", "orthographic", [-140, -35, 10], POSTER, 1, null, "50m");
addCase("naturalEarth1-50m", "naturalEarth1", [-160, 0, 0], LANDSCAPE, 1.5, LANDSCAPE, "50m");
addCase("mercator-10m-zoom", "mercator", [-10, 0, 0], LANDSCAPE, 4, LANDSCAPE, "10m");

// Probe points (degrees), including poles, the antimeridian and a few cities.
const probes = [];
for (let lon = -180; lon <= 180; lon += 30) for (let lat = -90; lat <= 90; lat += 30) probes.push([lon, lat]);
probes.push([-0.1278, 51.5074], [151.2093, -33.8688], [-74.006, 40.7128], [139.6917, 35.6895],
            [179.999, 0.5], [-179.999, -0.5], [12.34567, -56.789]);

// Great-circle lines: long legs that cross the horizon of most globes and the antimeridian.
const LINES = [
  [[-0.1278, 51.5074], [151.2093, -33.8688]],               // London → Sydney
  [[-74.006, 40.7128], [139.6917, 35.6895], [-122.42, 37.77]], // New York → Tokyo → San Francisco
  [[-170, -10], [170, 10]],                                   // across the antimeridian
];

const recGeo = recorder();
const out = [];
for (const c of cases) {
  const p = makeProjection(c);
  const r = {...c, scale: p.scale(), translate: p.translate()};
  r.probes = probes.map(([lon, lat]) => {
    const xy = p([lon, lat]);
    return [lon, lat, xy && isFinite(xy[0]) ? xy[0] : null, xy && isFinite(xy[1]) ? xy[1] : null];
  });
  if (c.kind === "orthographic") {
    // What the preclip keeps: stream each probe as a Point through a projection without postclip.
    const q = makeProjection(c, false);
    r.visible = probes.map(([lon, lat]) => {
      let seen = false;
      geoStream({type: "Point", coordinates: [lon, lat]}, q.stream({point() { seen = true; },
        lineStart() {}, lineEnd() {}, polygonStart() {}, polygonEnd() {}, sphere() {}}));
      return seen;
    });
  }
  const stream = p.stream(recGeo.stream);
  for (const which of ["land", "countries"]) {
    const feats = layers[c.dataset][which];
    const perFeature = [];
    const all = [];
    for (const f of feats) {
      for (const poly of f.polygons) geoStream({type: "Polygon", coordinates: poly}, stream);
      const subs = recGeo.take();
      perFeature.push(measure(subs));
      for (const s of subs) all.push(s);
    }
    const m = measure(all);
    r[which] = {area: m.area, rings: m.rings,
                features: which === "countries" ? perFeature.map((f) => f.area) : undefined};
  }
  geoStream({type: "Sphere"}, stream);
  const sphere = recGeo.take();
  r.sphere = {area: measure(sphere).area, length: length(sphere), subpaths: sphere.length};
  geoStream(geoGraticule10(), stream);
  const grat = recGeo.take();
  // Zero-length subpaths (a line grazing the clip extent, decided by the last bit of a
  // coordinate on the edge) draw nothing and are left out of the counts.
  const drawn = grat.filter((s) => length([s]) > 1e-6);
  r.graticule = {length: length(grat), subpaths: drawn.length,
                 points: drawn.reduce((n, s) => n + s.points.length / 2, 0)};
  r.lines = LINES.map((coords) => {
    geoStream({type: "LineString", coordinates: coords}, stream);
    return {coordinates: coords, subpaths: recGeo.take().map((s) => s.points)};
  });
  out.push(r);
}
writeFileSync(join(outDir, "cases.json"), JSON.stringify(out));
console.error(`reference.mjs: ${out.length} cases written to ${outDir}`);
