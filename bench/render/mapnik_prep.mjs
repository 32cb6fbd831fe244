// mapnik_prep.mjs — the geography AWM draws, made ready for Mapnik (bench/render/mapnik.sh; not
// timed): world-atlas 10m land, the country border mesh (topojson-client's
// mesh(countries, (a, b) => a !== b), as src/geo/mesh.c) and d3's geoGraticule10, plus the
// sphere (the ocean), as shapefiles Mapnik's `shape` plugin reads.
//
// Mapnik projects each vertex on its own through PROJ and joins them with straight lines: it
// cannot cut a polygon at the antimeridian nor clip one at the globe's horizon (a vertex behind
// the globe has no orthographic position). So the rotation and the clipping are done here, the
// way d3-geo (AWM's oracle) does them: the coordinates written are those of the rotated sphere,
// already clipped (small circle at 90° for the globe, the antimeridian for the flat maps, and
// latitude ±85.0511° for Mercator), and Mapnik projects them with lon_0 = lat_0 = 0. Mapnik joins
// projected vertices with straight lines where d3 follows great circles, so long segments (the
// graticule's meridians, the horizon, the cut edges) are split here to at most 1°.
//
// usage: node mapnik_prep.mjs OUT_DIR PROJECTION λ φ γ
//   writes OUT_DIR/{sphere,graticule,land,borders}.{shp,shx,dbf}
import {mkdirSync, readFileSync, writeFileSync} from "node:fs";
import {createRequire} from "node:module";
import {dirname, join} from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
// d3-geo and topojson-client pinned by the oracle's lockfile (tests/oracle), world-atlas by the assets'.
const oracle = createRequire(join(root, "tests/oracle/package.json"));
const load = (name) => import(pathToFileURL(oracle.resolve(name)).href);
const {geoDistance, geoGraticule10, geoInterpolate, geoProjection} = await load("d3-geo");
const {geoProject} = await load("d3-geo-projection");
const {feature, mesh} = await load("topojson-client");

const [outDir, kind, ...rot] = process.argv.slice(2);
const rotation = rot.map(Number);
if (!outDir || !kind || rotation.length !== 3 || rotation.some(Number.isNaN)) {
  console.error("usage: node mapnik_prep.mjs OUT_DIR PROJECTION λ φ γ");
  process.exit(2);
}
mkdirSync(outDir, {recursive: true});

// The identity projection in degrees: d3 rotates and clips, and hands back the rotated
// longitude and latitude (y negated, as d3's screen y grows downwards).
const globe = kind === "orthographic";
const MERCATOR_LAT = 85.0511287798066; // the latitude where Mercator's square ends (d3's fitSize of the sphere)
const prep = geoProjection((x, y) => [x, y]).scale(180 / Math.PI).translate([0, 0]).precision(0)
  .rotate(globe ? rotation : [rotation[0], 0, 0]);
if (globe)
  prep.clipAngle(90);
if (kind === "mercator")
  prep.clipExtent([[-180, -MERCATOR_LAT], [180, MERCATOR_LAT]]);

const atlas = join(root, "assets/node_modules/world-atlas");
const read = (name) => JSON.parse(readFileSync(join(atlas, name), "utf8"));
const land = read("land-10m.json"), countries = read("countries-10m.json");

// Back to latitude up, with segments split to at most 1° the way d3 draws them: along the great
// circle (d3's graticule gives a meridian as three points), except an edge the clipping made along
// a meridian or a parallel (the antimeridian cut, Mercator's square), which is straight in lon/lat.
function ring(points) {
  const out = [];
  for (const [x, flipped] of points) {
    const y = -flipped;
    if (out.length) {
      const [px, py] = out[out.length - 1];
      const straight = px === x || py === y;
      const n = Math.ceil(straight ? Math.hypot(x - px, y - py) : geoDistance([px, py], [x, y]) * 180 / Math.PI);
      const along = straight ? (t) => [px + (x - px) * t, py + (y - py) * t] : geoInterpolate([px, py], [x, y]);
      for (let i = 1; i < n; i++)
        out.push(along(i / n));
    }
    out.push([x, y]);
  }
  return out;
}
const area2 = (r) => r.reduce((s, [x, y], i) => {
  const [nx, ny] = r[(i + 1) % r.length];
  return s + x * ny - nx * y;
}, 0);
// Shapefile rings: outer rings clockwise, holes counter-clockwise (latitude up).
const oriented = (r, outer) => ((area2(r) < 0) === outer ? r : r.slice().reverse());

function polygons(geometry) {
  if (!geometry) return [];
  const list = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  return list.map((rings) => rings.map((r, i) => oriented(ring(r), i === 0)));
}
function lines(geometry) {
  if (!geometry) return [];
  const list = geometry.type === "LineString" ? [geometry.coordinates] : geometry.coordinates;
  return list.map((l) => [ring(l)]).filter((l) => l[0].length > 1);
}

// ---- shapefile writer: one record per polygon or line, parts = rings ----
function writeShapefile(base, type, records) {
  const box = (pts) => pts.reduce((b, [x, y]) => [Math.min(b[0], x), Math.min(b[1], y),
                                                  Math.max(b[2], x), Math.max(b[3], y)],
                                  [Infinity, Infinity, -Infinity, -Infinity]);
  const bodies = records.map((parts) => {
    const pts = parts.flat();
    const buf = Buffer.alloc(44 + 4 * parts.length + 16 * pts.length);
    buf.writeInt32LE(type, 0);
    box(pts).forEach((v, i) => buf.writeDoubleLE(v, 4 + 8 * i));
    buf.writeInt32LE(parts.length, 36);
    buf.writeInt32LE(pts.length, 40);
    let first = 0, o = 44;
    for (const p of parts) { buf.writeInt32LE(first, o); o += 4; first += p.length; }
    for (const [x, y] of pts) { buf.writeDoubleLE(x, o); buf.writeDoubleLE(y, o + 8); o += 16; }
    return buf;
  });
  const all = box(records.flat(2));
  const header = (words) => {
    const h = Buffer.alloc(100);
    h.writeInt32BE(9994, 0);
    h.writeInt32BE(words, 24);
    h.writeInt32LE(1000, 28);
    h.writeInt32LE(type, 32);
    all.forEach((v, i) => h.writeDoubleLE(v, 36 + 8 * i));
    return h;
  };
  const shp = [], shx = [];
  let offset = 50; // in 16-bit words, after the header
  bodies.forEach((body, i) => {
    const rec = Buffer.alloc(8);
    rec.writeInt32BE(i + 1, 0);
    rec.writeInt32BE(body.length / 2, 4);
    shp.push(rec, body);
    const idx = Buffer.alloc(8);
    idx.writeInt32BE(offset, 0);
    idx.writeInt32BE(body.length / 2, 4);
    shx.push(idx);
    offset += 4 + body.length / 2;
  });
  writeFileSync(`${base}.shp`, Buffer.concat([header(offset), ...shp]));
  writeFileSync(`${base}.shx`, Buffer.concat([header(50 + 4 * bodies.length), ...shx]));
  // dBASE III table: one numeric field "id".
  const dbf = Buffer.alloc(32 + 32 + 1 + records.length * 11 + 1, 0x20);
  dbf.fill(0, 0, 65);
  dbf.writeUInt8(3, 0);
  dbf.writeUInt8(126, 1); dbf.writeUInt8(12, 2); dbf.writeUInt8(2, 3);
  dbf.writeUInt32LE(records.length, 4);
  dbf.writeUInt16LE(65, 8);
  dbf.writeUInt16LE(11, 10);
  dbf.write("id", 32, "latin1");
  dbf.write("N", 43, "latin1");
  dbf.writeUInt8(10, 48);
  dbf.writeUInt8(0x0d, 64);
  records.forEach((_, i) => dbf.write(String(i + 1).padStart(10), 65 + i * 11 + 1, "latin1"));
  dbf.writeUInt8(0x1a, dbf.length - 1);
  writeFileSync(`${base}.dbf`, dbf);
}

const POLYLINE = 3, POLYGON = 5;
const project = (object) => geoProject(object, prep);
writeShapefile(join(outDir, "sphere"), POLYGON, polygons(project({type: "Sphere"})));
writeShapefile(join(outDir, "graticule"), POLYLINE, lines(project(geoGraticule10())));
// The slivers world-atlas 10m turned counter-clockwise ("the whole world but this") are left
// out as AWM leaves them out (src/render/scene.c, is_flipped_sliver).
const flippedSliver = ([outer]) => {
  if (!outer || outer.length < 3) return true;
  const xs = outer.map((p) => p[0]), ys = outer.map((p) => p[1]);
  return Math.max(...xs) - Math.min(...xs) < 1 && Math.max(...ys) - Math.min(...ys) < 1 && area2(outer) >= 0;
};
const landFeatures = feature(land, land.objects.land);
const landPolygons = (landFeatures.features ?? [landFeatures]).flatMap((f) =>
  f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates);
writeShapefile(join(outDir, "land"), POLYGON, polygons(project({
  type: "MultiPolygon", coordinates: landPolygons.filter((p) => !flippedSliver(p)),
})));
// The border mesh is made from the countries without their slivers, as AWM makes it.
for (const g of countries.objects.countries.geometries) {
  if (g.type !== "Polygon" && g.type !== "MultiPolygon") continue;
  const decoded = feature(countries, g).geometry;
  if (g.type === "Polygon") {
    if (flippedSliver(decoded.coordinates)) g.arcs = [];
  } else {
    g.arcs = g.arcs.filter((_, i) => !flippedSliver(decoded.coordinates[i]));
  }
}
writeShapefile(join(outDir, "borders"), POLYLINE,
               lines(project(mesh(countries, countries.objects.countries, (a, b) => a !== b))));
