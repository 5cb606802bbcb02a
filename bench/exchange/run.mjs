// bench/exchange: per-round time of each collective (leader all-reduce, scatter-reduce, parameter
// server) with W workers and N-float gradients through each store (embedded, Redis, S3 on s3rver),
// side by side with the reference: the raw time to move the same bytes through the same store (each
// worker puts the bytes it sent and gets objects of the sizes it received, with plain store calls,
// all workers at once), in the same processes, each round of the collective followed by a round of
// the reference (so both see the machine as it is at that moment; the ratio is the median of the
// rounds' ratios). Also the bytes a round moves with each codec, and, on the stores that watch
// (embedded, Redis), the same rounds with waits that only poll (the store's watch hidden) beside the
// rounds whose waits its watch wakes.
// Every worker is a process of its own (as an invocation is), from the built package; a round's time
// is the slowest worker's; figures are medians over `rounds` rounds after a warm-up round.
// Usage: npm run build && node bench/exchange/run.mjs [workers=8] [floats=1000000] [rounds=5] [stores=embedded,redis,s3]
// Writes bench/exchange/results/latest.json; prints the tables.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { median } from '../lib/kernel-client.mjs';
import { startRedis, startS3rver, S3_ENV } from '../lib/stores.mjs';
import { runJob } from './jobs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKERS = Number(process.argv[2] ?? 8);
const FLOATS = Number(process.argv[3] ?? 1_000_000);
const ROUNDS = Number(process.argv[4] ?? 5);
const ONLY = process.argv[5]?.split(',');
const STRATEGIES = ['allreduce', 'scatter-reduce', 'parameter-server'];
const CODECS = ['none', 'fp16', 'topk:0.01'];
/** The stores whose watch wakes a round's waits (the polling table compares them with waits that only poll). */
const WATCHING_STORES = ['embedded', 'redis'];
/** Time for W node processes to start and load the package before the first round. */
const START_DELAY_MS = 3000;
/** How long one worker process may run. */
const WORKER_TIMEOUT_MS = 300_000;

function runWorker(job, env) {
  return runJob(path.join(here, 'worker.mjs'), job, env, WORKER_TIMEOUT_MS);
}

/** The slowest worker's time of `field` ('ms' or 'rawMs'), round by round. */
function slowest(results, field) {
  return results[0][field].map((_, round) => Math.max(...results.map((r) => r[field][round])));
}

/** The workers' `field` ('cpuMs', 'rawCpuMs', 'requests') summed, round by round. */
function summed(results, field) {
  return results[0][field].map((_, round) => results.reduce((sum, r) => sum + r[field][round], 0));
}

let sequence = 0;
async function measure(store, env, strategy, codec, withRaw, polling = false) {
  sequence += 1;
  const cellRunId = `bench-${process.pid}-${sequence}`;
  const base = {
    store,
    workers: WORKERS,
    floats: FLOATS,
    rounds: ROUNDS,
    cellRunId,
    run: 'grads',
    polling,
    paired: withRaw,
  };
  const startAt = Date.now() + START_DELAY_MS;
  const results = await Promise.all(
    Array.from({ length: WORKERS }, (_, rank) => runWorker({ ...base, rank, strategy, codec, startAt }, env)),
  );
  const bytes = median(
    results[0].bytesUp.map((_, i) => results.reduce((s, r) => s + r.bytesUp[i] + r.bytesDown[i], 0)),
  );
  const rawBytes = median(results[0].rawBytes.map((_, i) => results.reduce((s, r) => s + r.rawBytes[i], 0)));
  const rounds = slowest(results, 'ms');
  const row = {
    strategy,
    codec,
    roundMs: median(rounds),
    cpuMs: median(summed(results, 'cpuMs')),
    requests: median(summed(results, 'requests')),
    bytes,
    rawBytes,
  };
  if (withRaw) {
    const raw = slowest(results, 'rawMs');
    row.rawMs = median(raw);
    row.rawCpuMs = median(summed(results, 'rawCpuMs'));
    row.ratio = median(rounds.map((ms, i) => ms / raw[i]));
    row.ratios = rounds.map((ms, i) => Number((ms / raw[i]).toFixed(2)));
  }
  return row;
}

const fmt = (n, d = 1) => n.toFixed(d);
const mb = (b) => `${(b / 1e6).toFixed(2)} MB`;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-exchange-'));
const redis = await startRedis();
const s3 = await startS3rver();
const results = {
  workers: WORKERS,
  floats: FLOATS,
  rounds: ROUNDS,
  host: os.cpus().length + ' cores',
  time: new Date().toISOString(),
  stores: {},
  codecs: [],
  polling: [],
};
try {
  const stores = {
    embedded: { url: 'embedded', env: { SERVERLESS_STORE: path.join(tmp, 'store') } },
    redis: { url: redis.url('bench'), env: {} },
    s3: { url: s3.url('bench'), env: S3_ENV },
  };
  for (const [name, { url, env }] of Object.entries(stores).filter(([n]) => !ONLY || ONLY.includes(n))) {
    results.stores[name] = [];
    for (const strategy of STRATEGIES) {
      const row = await measure(url, env, strategy, 'none', true);
      results.stores[name].push(row);
      process.stderr.write(
        `${name} ${strategy}: ${fmt(row.roundMs)} ms vs raw ${fmt(row.rawMs)} ms (${fmt(row.ratio, 2)}x)\n`,
      );
    }
  }
  // The embedded store's and Redis's waits are woken by their watch; the same rounds with waits that only poll.
  for (const name of WATCHING_STORES.filter((n) => results.stores[n])) {
    const { url, env } = stores[name];
    for (const strategy of STRATEGIES) {
      const row = await measure(url, env, strategy, 'none', false, true);
      const woken = results.stores[name].find((r) => r.strategy === strategy);
      results.polling.push({
        store: name,
        strategy,
        wokenMs: woken.roundMs,
        pollingMs: row.roundMs,
        wokenRequests: woken.requests,
        pollingRequests: row.requests,
        wokenCpuMs: woken.cpuMs,
        pollingCpuMs: row.cpuMs,
      });
      process.stderr.write(`${name} ${strategy}, polling only: ${fmt(row.roundMs)} ms\n`);
    }
  }
  for (const strategy of STRATEGIES) {
    for (const codec of CODECS) {
      const row = await measure('embedded', stores.embedded.env, strategy, codec, false);
      results.codecs.push(row);
      process.stderr.write(`${strategy} ${codec}: ${mb(row.bytes)} in ${fmt(row.roundMs)} ms\n`);
    }
  }
} finally {
  await Promise.all([redis.stop(), s3.stop()]);
  rmSync(tmp, { recursive: true, force: true });
}

mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(path.join(here, 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);

console.log(
  `\n### Per-round time, ${WORKERS} workers, ${FLOATS.toLocaleString('en-US')} floats, codec none (median of ${ROUNDS} rounds, slowest worker)\n`,
);
console.log(
  '| store | collective | round ms | raw ms (same bytes) | ratio (target <= 2) | bytes per round | CPU ms, all workers: round / raw |',
);
console.log('|---|---|---|---|---|---|---|');
for (const [name, rows] of Object.entries(results.stores)) {
  for (const r of rows) {
    console.log(
      `| ${name} | ${r.strategy} | ${fmt(r.roundMs)} | ${fmt(r.rawMs)} | ${fmt(r.ratio, 2)} | ${mb(r.bytes)} | ${fmt(r.cpuMs)} / ${fmt(r.rawCpuMs)} |`,
    );
  }
  const ar = rows.find((r) => r.strategy === 'allreduce').roundMs;
  const sr = rows.find((r) => r.strategy === 'scatter-reduce').roundMs;
  console.log(`| ${name} | scatter-reduce / allreduce | ${fmt(sr / ar, 2)} | | | | |`);
}
if (results.polling.length > 0) {
  console.log(`\n### Waits woken by the store's watch vs waits that only poll\n`);
  console.log(
    '| store | collective | woken ms | polling only ms | woken / polling | store requests a round, woken / polling only | CPU ms a round, woken / polling only |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results.polling) {
    console.log(
      `| ${r.store} | ${r.strategy} | ${fmt(r.wokenMs)} | ${fmt(r.pollingMs)} | ${fmt(r.wokenMs / r.pollingMs, 2)} | ` +
        `${r.wokenRequests} / ${r.pollingRequests} | ${fmt(r.wokenCpuMs)} / ${fmt(r.pollingCpuMs)} |`,
    );
  }
}
console.log(`\n### Bytes per round by codec (embedded store)\n`);
console.log('| collective | codec | bytes moved | none / codec | round ms |');
console.log('|---|---|---|---|---|');
for (const r of results.codecs) {
  const none = results.codecs.find((x) => x.strategy === r.strategy && x.codec === 'none').bytes;
  console.log(
    `| ${r.strategy} | ${r.codec} | ${mb(r.bytes)} | ${fmt(none / r.bytes)}x | ${fmt(r.roundMs)} |`,
  );
}
