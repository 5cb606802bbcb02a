// bench/exchange/straggler: what a wait for a straggler costs. Two workers (processes of their own,
// as invocations are) run an all-reduce of 100,000 floats; in the timed round worker 1 starts
// `delay` ms late, so worker 0 waits for it. Per store that can watch (embedded, Redis), side by
// side in one run: the store as it is (waits woken by its watch, polling only as the safety net)
// and the same store with its watch hidden (waits that only poll). Reported: worker 0's round time
// and store requests in that round, and how long after the straggler's write worker 0 was done.
// Usage: npm run build && node bench/exchange/straggler.mjs [delayMs=1000] [reps=3]
// Prints a table; writes bench/exchange/results/straggler.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { median } from '../lib/kernel-client.mjs';
import { startRedis } from '../lib/stores.mjs';
import { pollingOnly, runJob } from './jobs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const DELAY_MS = Number(process.argv[2] ?? 1000);
const REPS = Number(process.argv[3] ?? 3);
const FLOATS = 100_000;
const WORKER_TIMEOUT_MS = 60_000;

/** One worker's process: this file with a job argument. */
function runWorker(job) {
  return runJob(fileURLToPath(import.meta.url), job, {}, WORKER_TIMEOUT_MS);
}

async function worker(job) {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const { exchange } = require('../../kernel-magics/dist/src/exchange/index.js');
  const { openStore } = require('../../kernel-magics/dist/src/exchange/store/index.js');
  const opened = openStore(job.store);
  // The store with its watch hidden: the exchange's waits then only poll.
  const store = job.polling ? pollingOnly(opened) : opened;
  const events = [];
  const ex = await exchange.open({
    run: job.run,
    rank: job.rank,
    workers: 2,
    store,
    strategy: 'allreduce',
    cellRunId: job.run,
    onEvent: (type, data) => type === 'exchange-round' && events.push(data),
  });
  const v = new Float32Array(FLOATS).fill(job.rank + 1);
  await ex.allreduce(v, { round: 0 });
  if (job.rank === 1) {
    await new Promise((resolve) => setTimeout(resolve, job.delayMs));
  }
  const startedAt = Date.now();
  const t0 = performance.now();
  await ex.allreduce(v, { round: 1 });
  const ms = performance.now() - t0;
  await ex.close();
  await opened.close();
  const { requests } = events[1];
  return {
    ms,
    startedAt,
    endedAt: Date.now(),
    requests: requests.put + requests.get + requests.list + requests.delete,
  };
}

if (process.argv[2]?.startsWith('{')) {
  process.stdout.write(`${JSON.stringify(await worker(JSON.parse(process.argv[2])))}\n`);
  process.exit(0);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-straggler-'));
const redis = await startRedis();
const rows = [];
try {
  const stores = { embedded: `embedded:${path.join(tmp, 'store')}`, redis: redis.url('straggler') };
  for (const [name, url] of Object.entries(stores)) {
    for (const polling of [false, true]) {
      const reps = [];
      for (let rep = 0; rep < REPS; rep += 1) {
        const run = `straggler-${name}-${polling ? 'polling' : 'woken'}-${rep}`;
        const [waiter, straggler] = await Promise.all(
          [0, 1].map((rank) => runWorker({ store: url, run, rank, polling, delayMs: DELAY_MS })),
        );
        // The straggler's round starts with its write; the waiter ends once it has read it and published the mean.
        reps.push({ ...waiter, afterStragglerMs: waiter.endedAt - straggler.startedAt });
      }
      rows.push({
        store: name,
        waits: polling ? 'polling only' : 'woken by the watch',
        'round ms (worker 0)': Math.round(median(reps.map((r) => r.ms))),
        'store requests (worker 0)': median(reps.map((r) => r.requests)),
        'done after the straggler started, ms': median(reps.map((r) => r.afterStragglerMs)),
      });
    }
  }
} finally {
  await redis.stop();
  rmSync(tmp, { recursive: true, force: true });
}
mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(
  path.join(here, 'results', 'straggler.json'),
  `${JSON.stringify({ time: new Date().toISOString(), delayMs: DELAY_MS, reps: REPS, rows }, null, 2)}\n`,
);
console.log(
  `A straggler ${DELAY_MS} ms late, 2 workers, ${FLOATS.toLocaleString('en-US')} floats, medians of ${REPS}`,
);
console.table(rows);
