// d3-bench.mjs — the same two views as `awm geo-bench`, timed in d3-geo (node), for the ratio.
// usage: node bench/geo/d3-bench.mjs [runs]   (needs tests/oracle/node_modules: scripts/setup)
import {readFileSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";
import {createRequire} from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const oracle = join(here, "../../tests/oracle");
const require = createRequire(join(oracle, "package.json"));
const {geoOrthographic, geoStream} = await import(require.resolve("d3-geo"));
const {geoRobinson} = await import(require.resolve("d3-geo-projection"));
const {feature} = require("topojson-client");

const runs = +(process.argv[2] || 10);
const layer = (name) => {
  const topo = JSON.parse(readFileSync(join(oracle, "node_modules/world-atlas", `${name}-10m.json`), "utf8"));
  return feature(topo, topo.objects[name]);
};
const land = layer("land"), countries = layer("countries");
const frame = [[63, 63], [63 + 1188, 63 + 1620]];
const views = {
  ortho: geoOrthographic().rotate([-20, -30, 0]).precision(Math.sqrt(0.5)).fitExtent(frame, {type: "Sphere"}),
  robinson: geoRobinson().precision(Math.sqrt(0.5)).fitExtent(frame, {type: "Sphere"}),
};
// A sink like the C engine's geo_path: keeps every projected point.
const sink = () => {
  const xs = [];
  return {point(x, y) { xs.push(x, y); }, lineStart() {}, lineEnd() {}, polygonStart() {}, polygonEnd() {}, sphere() {}};
};
const result = {bench: "geo-d3", detail: "10m", runs};
for (const [name, p] of Object.entries(views)) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const s = p.stream(sink());
    geoStream(land, s);
    geoStream(countries, s);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  result[`${name}Ms`] = runs % 2 ? times[runs >> 1] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
}
console.log(JSON.stringify(result));
