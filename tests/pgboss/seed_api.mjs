// seed_api.mjs — a stand-in for the seed's SvelteKit API, as far as its worker sees it
// (SEED-SYSTEM.md): POST /api/jobs/{id}/start|complete|fail answer 200 {success: true, job}
// and EVERY error with 400 {success: false, error: "<message>"} — an unknown job, an illegal
// transition and a database outage alike. Each call is logged as one JSON line on stdout.
//
//   node seed_api.mjs PORT [lenient]
// lenient: every call answers 200 (a fleet test counts calls, not transitions)
// Print job ids steer the answers (the first 8 hex digits):
//   00000000-…  unknown: "Print job not found"
//   eeeeeeee-…  already in export_failed: start is refused (the seed's known fault)
//   dddddddd-…  start fails as a database outage does: "Connection terminated unexpectedly"
//   anything else: pending_export, then start → exporting, complete → exported, fail → export_failed
import http from 'node:http';

const port = parseInt(process.argv[2], 10);
const lenient = process.argv[3] === 'lenient';
const jobs = new Map();

function answer(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const m = /^\/api\/jobs\/([^/]+)\/(start|complete|fail)$/.exec(req.url);
    console.log(JSON.stringify({ method: req.method, url: req.url, body: body ? JSON.parse(body) : null,
                                 contentType: req.headers['content-type'] || null,
                                 authorization: req.headers.authorization || null }));
    if (req.method !== 'POST' || !m) return answer(res, 400, { success: false, error: 'Not found' });
    const [, id, action] = m;
    if (lenient) return answer(res, 200, { success: true, job: { id } });
    if (id.startsWith('00000000')) return answer(res, 400, { success: false, error: 'Print job not found' });
    if (!jobs.has(id)) jobs.set(id, id.startsWith('eeeeeeee') ? 'export_failed' : 'pending_export');
    const state = jobs.get(id);
    if (action === 'start') {
      if (id.startsWith('dddddddd')) return answer(res, 400, { success: false, error: 'Connection terminated unexpectedly' });
      if (state === 'export_failed' || state === 'exported') {
        return answer(res, 400, { success: false, error: `Invalid state transition from ${state} to exporting` });
      }
      jobs.set(id, 'exporting');
    } else if (action === 'complete') {
      if (state !== 'exporting') return answer(res, 400, { success: false, error: `Invalid state transition from ${state} to exported` });
      jobs.set(id, 'exported');
    } else {
      jobs.set(id, 'export_failed');
    }
    return answer(res, 200, { success: true, job: { id, state: jobs.get(id) } });
  });
});
server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ listening: port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
