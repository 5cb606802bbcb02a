// bench/exchange (skeleton): one exchange round per strategy x codec, W
// workers as concurrent async functions in this process over a temporary
// embedded store, from the built package. Per cell: wall time of the round
// (median of `rounds`), bytes moved by all workers (up + down), store
// requests, and the ratio of `none`'s bytes to the codec's. A markdown table
// on stdout. The lead extends it (other stores, separate processes).
// Usage: npm run build && node bench/exchange/run.mjs [workers=8] [floats=1000000] [rounds=3]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const { exchange } = require('../../kernel-magics/dist/src/exchange/index.js');
const { EmbeddedStore } = require('../../kernel-magics/dist/src/exchange/store/embedded.js');

const WORKERS = Number(process.argv[2] ?? 8);
const FLOATS = Number(process.argv[3] ?? 1_000_000);
const ROUNDS = Number(process.argv[4] ?? 3);
const STRATEGIES = ['allreduce', 'scatter-reduce', 'parameter-server'];
const CODECS = ['none', 'fp16', 'topk:0.01'];

function vectorOf(rank, round) {
  let s = (rank * 7919 + round * 104729 + 1) >>> 0;
  const out = new Float32Array(FLOATS);
  for (let i = 0; i < FLOATS; i += 1) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

async function cell(store, strategy, codec, vectors) {
  const events = [];
  const run = `${strategy}-${codec.replace(':', '-')}`;
  const exchanges = await Promise.all(
    vectors.map((_, rank) =>
      exchange.open({
        run,
        rank,
        workers: WORKERS,
        store,
        strategy,
        codec,
        cellRunId: 'bench',
        onEvent: (type, data) => type === 'exchange-round' && events.push(data),
      }),
    ),
  );
  const times = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = performance.now();
    await Promise.all(
      exchanges.map(async (ex, rank) => {
        const v = vectors[rank][round];
        if (strategy === 'allreduce') return ex.allreduce(v, { round });
        if (strategy === 'scatter-reduce') return ex.scatterReduce(v, { round });
        await ex.push(v, { round });
        return ex.pull({ round });
      }),
    );
    times.push(performance.now() - started);
  }
  await Promise.all(exchanges.map((ex) => ex.close()));
  const perRound = (field) => events.reduce((sum, e) => sum + field(e), 0) / ROUNDS;
  return {
    ms: times.sort((a, b) => a - b)[Math.floor(times.length / 2)],
    bytes: perRound((e) => e.bytesUp + e.bytesDown),
    requests: perRound((e) => e.requests.put + e.requests.get + e.requests.list + e.requests.delete),
  };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-exchange-'));
const store = new EmbeddedStore(dir);
try {
  const vectors = Array.from({ length: WORKERS }, (_, rank) =>
    Array.from({ length: ROUNDS }, (_, round) => vectorOf(rank, round)),
  );
  console.log(`| strategy | codec | round ms (p50) | MB moved / round | requests / round | vs none |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const strategy of STRATEGIES) {
    let noneBytes;
    for (const codec of CODECS) {
      const result = await cell(store, strategy, codec, vectors);
      noneBytes ??= result.bytes;
      console.log(
        `| ${strategy} | ${codec} | ${result.ms.toFixed(0)} | ${(result.bytes / 1e6).toFixed(2)} | ` +
          `${result.requests.toFixed(0)} | ${(noneBytes / result.bytes).toFixed(1)}x |`,
      );
    }
  }
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
