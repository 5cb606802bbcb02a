// bench/datasets: (1) how long datasets.mnist takes to load the mnist package's 10,000 digits, in fresh
// processes, with the reference side by side: the same files through JSON.parse into Float32Arrays;
// (2) publishing the 10,000 digits (784 inputs + 10 labels a sample) to each store and reading one
// worker's shard of four, with 1 MiB chunks (the default) and 4 MiB chunks, against the floor of one
// plain get of an object holding exactly the shard's bytes.
// Usage: npm run build && node bench/datasets/run.mjs [runs=5] [stores=embedded,redis,s3]
// Writes bench/datasets/results/latest.json; prints the tables.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startRedis, startS3rver, S3_ENV } from '../lib/stores.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const dist = path.join(root, 'kernel-magics', 'dist', 'src');
const require = createRequire(import.meta.url);
const RUNS = Number(process.argv[2] ?? 5);
const STORES = (process.argv[3] ?? 'embedded,redis,s3').split(',');
const WORKERS = 4;
const RANK = 1;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x) => Math.round(x * 10) / 10;

/** One fresh process: loads tfjs, then the digits one way, then (ours only) one mnist call and a second. */
function loadProbe(way) {
  const script = `
const t0 = performance.now();
const tf = require(${JSON.stringify(require.resolve('@tensorflow/tfjs'))});
tf.enableProdMode();
const t1 = performance.now();
let digits = 0;
if (${JSON.stringify(way)} === 'json') {
  const fs = require('fs');
  const dir = require('path').join(require('path').dirname(${JSON.stringify(require.resolve('mnist/package.json'))}), 'src', 'digits');
  for (let d = 0; d < 10; d++) digits += new Float32Array(JSON.parse(fs.readFileSync(dir + '/' + d + '.json', 'utf8')).data).length / 784;
} else {
  digits = require(${JSON.stringify(path.join(dist, 'training/datasets/mnist-digits.js'))}).mnistDigits().total;
}
const t2 = performance.now();
(async () => {
  let first = 0, again = 0;
  if (${JSON.stringify(way)} === 'ours') {
    const { mnist } = require(${JSON.stringify(path.join(dist, 'training/datasets/mnist.js'))});
    const a = performance.now();
    const sets = await mnist({ train: 8000, test: 2000, tf });
    first = performance.now() - a;
    tf.dispose([sets.train.xs, sets.train.ys, sets.test.xs, sets.test.ys]);
    const b = performance.now();
    const more = await mnist({ train: 8000, test: 2000, seed: 1, tf });
    again = performance.now() - b;
    tf.dispose([more.train.xs, more.train.ys, more.test.xs, more.test.ys]);
  }
  process.stdout.write(JSON.stringify({ tfjs: t1 - t0, digits: t2 - t1, count: digits, first, again }));
})();`;
  return JSON.parse(
    execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  );
}

function loadBench() {
  const samples = { ours: [], json: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const way of run % 2 ? ['json', 'ours'] : ['ours', 'json']) {
      samples[way].push(loadProbe(way));
    }
  }
  const pick = (way, field) => round(median(samples[way].map((s) => s[field])));
  return {
    requireTfjsMs: pick('ours', 'tfjs'),
    decodeOursMs: pick('ours', 'digits'),
    decodeJsonParseMs: pick('json', 'digits'),
    ratio: Number((pick('ours', 'digits') / pick('json', 'digits')).toFixed(2)),
    mnistCallAfterDecodeMs: pick('ours', 'first'),
    mnistSecondCallMs: pick('ours', 'again'),
    digits: samples.ours[0].count,
  };
}

async function storeBench(name, url, env) {
  const { openStore } = require(path.join(dist, 'exchange/store/index.js'));
  const datasets = require(path.join(dist, 'training/datasets/index.js'));
  const { mnistDigits } = require(path.join(dist, 'training/datasets/mnist-digits.js'));
  const digits = mnistDigits();
  const xs = new Float32Array(digits.total * 784);
  const ys = new Float32Array(digits.total * 10);
  let row = 0;
  digits.pixels.forEach((pixels, digit) => {
    xs.set(pixels, row * 784);
    for (let i = 0; i < digits.counts[digit]; i++) ys[(row + i) * 10 + digit] = 1;
    row += digits.counts[digit];
  });
  const data = { xs, ys, xShape: [784], yShape: [10], samples: digits.total };
  const [start, end] = datasets.shardRange(data.samples, WORKERS, RANK);
  const rows = [];
  for (const chunkMiB of [1, 4]) {
    const chunkSamples = Math.floor((chunkMiB * 1024 * 1024) / 3176);
    const results = {
      publish: [],
      republish: [],
      cold: [],
      warm: [],
      floor: [],
      gets: 0,
      bytesDown: 0,
      puts: 0,
    };
    for (let run = 0; run < RUNS; run++) {
      const store = openStore(url(`bench-${chunkMiB}-${run}-${Date.now()}`), { env });
      let t = performance.now();
      const ref = await datasets.publishDataset(store, data, { chunkSamples });
      results.publish.push(performance.now() - t);
      results.puts = store.take().requests.put;
      t = performance.now();
      await datasets.publishDataset(store, data);
      results.republish.push(performance.now() - t);
      store.take();
      const cache = new datasets.DatasetChunkCache();
      t = performance.now();
      await datasets.readSamples(store, ref, start, end, { cache });
      results.cold.push(performance.now() - t);
      const usage = store.take();
      results.gets = usage.requests.get;
      results.bytesDown = usage.bytesDown;
      t = performance.now();
      await datasets.readSamples(store, ref, start, end, { cache });
      results.warm.push(performance.now() - t);
      // The floor: one object of exactly the shard's bytes, one get, nothing checked.
      const shardBytes = new Uint8Array(xs.buffer, start * 784 * 4, (end - start) * 794 * 4);
      await store.put('floor/shard', shardBytes);
      t = performance.now();
      await store.get('floor/shard');
      results.floor.push(performance.now() - t);
      await store.close();
    }
    rows.push({
      store: name,
      chunk: `${chunkMiB} MiB (${chunkSamples} samples)`,
      publishMs: round(median(results.publish)),
      puts: results.puts,
      republishMs: round(median(results.republish)),
      shardColdMs: round(median(results.cold)),
      floorMs: round(median(results.floor)),
      shardWarmMs: round(median(results.warm)),
      gets: results.gets,
      shardMB: round(((end - start) * 3176) / 1e6),
      readMB: round(results.bytesDown / 1e6),
    });
  }
  return rows;
}

const load = loadBench();
console.log('datasets.mnist load (medians of fresh processes):');
console.table([load]);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-datasets-'));
const servers = [];
const rows = [];
try {
  if (STORES.includes('embedded'))
    rows.push(...(await storeBench('embedded', (p) => `embedded:${path.join(tmp, p)}`)));
  if (STORES.includes('redis')) {
    const redis = await startRedis();
    servers.push(redis);
    rows.push(...(await storeBench('redis', (p) => redis.url(`${p}:`))));
  }
  if (STORES.includes('s3')) {
    const s3 = await startS3rver();
    servers.push(s3);
    rows.push(...(await storeBench('s3 (s3rver)', (p) => s3.url(p), S3_ENV)));
  }
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  rmSync(tmp, { recursive: true, force: true });
}
console.log(
  `10,000 digits (31.8 MB) published; worker ${RANK} of ${WORKERS} reads its shard (medians of ${RUNS}):`,
);
console.table(rows);
mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(
  path.join(here, 'results', 'latest.json'),
  JSON.stringify(
    { date: new Date().toISOString(), load: os.loadavg(), runs: RUNS, mnist: load, stores: rows },
    null,
    2,
  ),
);
