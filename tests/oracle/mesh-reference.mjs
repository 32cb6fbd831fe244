// mesh-reference.mjs — what topojson-client's mesh(topology, object, (a, b) => a !== b) draws for
// the world-atlas country layers, summarised for tests/geo/test_mesh.c: the number of non-empty
// segments and the sums of their end points' coordinates (each segment's ends ordered by x then
// y, so the direction a line runs in does not matter; segments sorted the same way in C).
//
// A segment an arc runs over twice (a spike there and back) is counted once: it is one stretch
// of border, and geo_mesh_borders draws it once.
//
// usage: node mesh-reference.mjs <world-atlas dir> <file>:<object> ... > reference.json
import { readFileSync } from "node:fs";
import { mesh } from "topojson-client";

const [dir, ...layers] = process.argv.slice(2);
const result = [];
for (const spec of layers) {
  const [file, object] = spec.split(":");
  const topology = JSON.parse(readFileSync(`${dir}/${file}`, "utf8"));
  const m = mesh(topology, topology.objects[object], (a, b) => a !== b);
  const segments = [];
  for (const line of m.coordinates) {
    for (let i = 0; i + 1 < line.length; i++) {
      let [a, b] = [line[i], line[i + 1]];
      if (a[0] === b[0] && a[1] === b[1]) continue;
      if (b[0] < a[0] || (b[0] === a[0] && b[1] < a[1])) [a, b] = [b, a];
      segments.push([a[0], a[1], b[0], b[1]]);
    }
  }
  segments.sort((s, t) => s[0] - t[0] || s[1] - t[1] || s[2] - t[2] || s[3] - t[3]);
  const same = (s, t) => s[0] === t[0] && s[1] === t[1] && s[2] === t[2] && s[3] === t[3];
  const distinct = segments.filter((s, i) => i === 0 || !same(s, segments[i - 1]));
  let sumX = 0, sumY = 0;
  for (const s of distinct) { sumX += s[0] + s[2]; sumY += s[1] + s[3]; }
  result.push({ file, object, segments: distinct.length, sumX, sumY });
}
process.stdout.write(JSON.stringify(result));
