// One worker of bench/exchange, in a process of its own (as an invocation is): opens the store,
// then either runs `rounds` rounds of a collective (after one untimed warm-up round) or, as the
// reference, moves the same bytes through the same store with plain puts and gets ("raw").
// Argument: a JSON object (see run.mjs). Prints one JSON line: per-round ms, bytes and requests.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { exchange } = require('../../kernel-magics/dist/src/exchange/index.js');
const { openStore } = require('../../kernel-magics/dist/src/exchange/store/index.js');

const job = JSON.parse(process.argv[2]);
const { rank, workers, floats, rounds } = job;

/** A reproducible pseudo-random vector per rank and round (xorshift32). */
function vectorOf(round) {
  let s = (rank * 7919 + round * 104729 + 1) >>> 0;
  const out = new Float32Array(floats);
  for (let i = 0; i < floats; i += 1) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

async function untilStart(at) {
  const wait = at - Date.now();
  if (wait > 0) {
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

async function collective(store) {
  const events = [];
  const ex = await exchange.open({
    run: job.run,
    rank,
    workers,
    store,
    strategy: job.strategy,
    codec: job.codec,
    cellRunId: job.cellRunId,
    roundTimeoutS: 120,
    onEvent: (type, data) => type === 'exchange-round' && events.push(data),
  });
  const vectors = Array.from({ length: rounds + 1 }, (_, round) => vectorOf(round));
  const call = (round) =>
    job.strategy === 'allreduce'
      ? ex.allreduce(vectors[round], { round })
      : job.strategy === 'scatter-reduce'
        ? ex.scatterReduce(vectors[round], { round })
        : ex.push(vectors[round], { round }).then(() => ex.pull({ round }));
  await untilStart(job.startAt);
  await call(0);
  const ms = [];
  for (let round = 1; round <= rounds; round += 1) {
    const t0 = performance.now();
    await call(round);
    ms.push(performance.now() - t0);
  }
  await ex.close();
  const timed = events.filter((e) => e.round >= 1);
  return {
    ms,
    bytesUp: timed.map((e) => e.bytesUp),
    bytesDown: timed.map((e) => e.bytesDown),
    requests: timed.map((e) => e.requests.put + e.requests.get + e.requests.list + e.requests.delete),
    rawBytes: timed.map((e) => e.rawBytes),
    links: timed[0]?.links ?? [],
  };
}

/** The reference: this worker's bytes up as one put and its bytes down as gets of objects of the same sizes. */
async function raw(store) {
  const prefix = `raw/${job.cellRunId}/${rank}`;
  const up = new Uint8Array(job.upBytes).fill(rank);
  // What is read is written beforehand, in as many objects as the collective read (untimed).
  for (let i = 0; i < job.downParts.length; i += 1) {
    await store.put(`${prefix}/src-${i}`, new Uint8Array(job.downParts[i]).fill(i));
  }
  await untilStart(job.startAt);
  const ms = [];
  for (let round = 0; round <= rounds; round += 1) {
    const t0 = performance.now();
    await store.put(`${prefix}/up-${round}`, up);
    await Promise.all(job.downParts.map((_, i) => store.get(`${prefix}/src-${i}`)));
    if (round > 0) {
      ms.push(performance.now() - t0);
    }
  }
  return { ms };
}

/**
 * The store without its watch: waits that only poll, as every wait did before the embedded store
 * woke them (the reference of the polling table).
 */
function pollingOnly(store) {
  return new Proxy(store, {
    get: (target, property) =>
      property === 'watch'
        ? undefined
        : typeof target[property] === 'function'
          ? target[property].bind(target)
          : target[property],
  });
}

const store = job.polling ? pollingOnly(openStore(job.store)) : openStore(job.store);
try {
  const result = job.mode === 'raw' ? await raw(store) : await collective(store);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await store.close();
}
