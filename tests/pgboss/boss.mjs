// boss.mjs — drives the real pg-boss 12.5.2 for the pgboss backend's tests, the way the seed's
// code does. One command per run; DATABASE_URL and PGBOSS_SCHEMA (default pgboss) from the
// environment; results as one JSON document on stdout.
//
//   init                                  start() once: pg-boss creates (or checks) its schema
//   create-queue NAME [OPTIONS]           createQueue(NAME, OPTIONS)
//   send NAME DATA [OPTIONS]              send(...) -> {"id"}; OPTIONS default: the seed's
//   fetch NAME                            fetch(NAME) -> the job (or null)
//   complete NAME ID [DATA]               complete(NAME, ID, DATA)
//   fail NAME ID DATA                     fail(NAME, ID, DATA) (DATA is JSON)
//   fail-error NAME ID MESSAGE            fail(NAME, ID, new Error(MESSAGE))
//   supervise [NAME]                      supervise(NAME): expiry and deletion as its timer runs them
//   get NAME ID                           getJobById(NAME, ID)
//   work NAME COUNT                       work(NAME) with default options until COUNT jobs were
//                                         handled; prints each job's data (one JSON line each)
//   send-many NAME COUNT DATA OPTIONS     COUNT sends of DATA, its printJobId replaced by a fresh uuid each
//   fleet-worker NAME                     the seed's Node worker: work(NAME) with default options, its
//                                         handler returning {by: "node"}; supervision on (every second)
//                                         beside AWM's; runs until killed
//   bench-work NAME BATCH POLL_S          work(NAME, {batchSize, pollingIntervalSeconds}) with a handler
//                                         that does nothing; runs until killed (bench/queue)
//   lock-key KEY                          pg-boss's locked() script around 'SELECT 1' for KEY
import { randomUUID } from 'node:crypto';
import { PgBoss } from 'pg-boss';
import * as plans from 'pg-boss/dist/plans.js';

export const SEED_SEND_OPTIONS = { retryLimit: 3, retryDelay: 60, retryBackoff: true, expireInSeconds: 3600 };

const [cmd, ...args] = process.argv.slice(2);
const schema = process.env.PGBOSS_SCHEMA || 'pgboss';

if (cmd === 'lock-key') {
  console.log(JSON.stringify({ sql: plans.locked(schema, 'SELECT 1', args[0] || '') }));
  process.exit(0);
}

// No timers of its own unless a command needs them: a test decides when supervision runs.
const fleet = cmd === 'fleet-worker';
const boss = new PgBoss({ connectionString: process.env.DATABASE_URL, schema, schedule: false, supervise: fleet,
                          superviseIntervalSeconds: 1, monitorIntervalSeconds: 1, maintenanceIntervalSeconds: 1 });
boss.on('error', (e) => console.error('pg-boss error:', e.message));
await boss.start();
const out = (v) => console.log(JSON.stringify(v ?? null));
try {
  switch (cmd) {
    case 'init': out({ version: await boss.schemaVersion() }); break;
    case 'create-queue': await boss.createQueue(args[0], args[1] ? JSON.parse(args[1]) : undefined); out({}); break;
    case 'send':
      out({ id: await boss.send(args[0], JSON.parse(args[1]), args[2] ? JSON.parse(args[2]) : SEED_SEND_OPTIONS) });
      break;
    case 'send-many': {
      const data = JSON.parse(args[2]);
      const ids = [];
      for (let i = 0; i < parseInt(args[1], 10); i++) {
        ids.push(await boss.send(args[0], { ...data, printJobId: randomUUID() }, JSON.parse(args[3])));
      }
      out({ sent: ids.filter(Boolean).length });
      break;
    }
    case 'fleet-worker':
      await boss.work(args[0], async () => ({ by: 'node', pid: process.pid }));
      await new Promise(() => {}); // until killed
      break;
    case 'bench-work': {
      const opts = { batchSize: parseInt(args[1], 10) };
      if (args[2]) opts.pollingIntervalSeconds = parseFloat(args[2]);
      await boss.work(args[0], opts, async () => {});
      await new Promise(() => {}); // until killed
      break;
    }
    case 'fetch': out((await boss.fetch(args[0], { includeMetadata: true }))[0]); break;
    case 'complete': out(await boss.complete(args[0], args[1], args[2] ? JSON.parse(args[2]) : undefined)); break;
    case 'fail': out(await boss.fail(args[0], args[1], JSON.parse(args[2]))); break;
    case 'fail-error': out(await boss.fail(args[0], args[1], new Error(args[2]))); break;
    case 'supervise': await boss.supervise(args[0]); out({}); break;
    case 'get': out(await boss.getJobById(args[0], args[1])); break;
    case 'work': {
      const want = parseInt(args[1], 10);
      let seen = 0;
      let last = null;
      await new Promise((resolve) => {
        boss.work(args[0], async ([job]) => {
          console.log(JSON.stringify({ id: job.id, data: job.data }));
          last = job.id;
          if (++seen >= want) setImmediate(resolve);
        });
      });
      // Stop only once pg-boss has completed the last job (stop() would fail a job in hand).
      while ((await boss.getJobById(args[0], last))?.state === 'active') await new Promise((r) => setTimeout(r, 20));
      break;
    }
    default: throw new Error(`unknown command ${cmd}`);
  }
} finally {
  await boss.stop({ graceful: false, wait: true });
}
