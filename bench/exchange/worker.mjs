// One worker of bench/exchange, in a process of its own (as an invocation is): opens the store,
// then runs `rounds` rounds of a collective (after one untimed warm-up round). With `paired`, each
// timed round is followed by a round of the reference: the same bytes moved through the same store
// with plain puts and gets ("raw"), sized from the warm-up round's own traffic, so that a round and
// its reference run on the machine as it is at that moment.
// Argument: a JSON object (see run.mjs). Prints one JSON line: per-round ms, bytes and requests.
import { createRequire } from 'node:module';

import { pollingOnly } from './jobs.mjs';

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

/** CPU ms this process used since `start` (its threads' too: the file calls run on libuv's pool). */
function cpuSince(start) {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000;
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
  if (job.paired && !events[0]) {
    throw new Error('the warm-up round sent no exchange-round event to size the reference by');
  }
  const reference = job.paired ? await rawRounds(store, events[0]) : undefined;
  const ms = [];
  const cpuMs = [];
  const rawMs = [];
  const rawCpuMs = [];
  for (let round = 1; round <= rounds; round += 1) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await call(round);
    ms.push(performance.now() - t0);
    cpuMs.push(cpuSince(cpu0));
    if (reference) {
      const rawRound = await reference.round(round);
      rawMs.push(rawRound.ms);
      rawCpuMs.push(rawRound.cpuMs);
    }
  }
  await ex.close();
  await reference?.dispose();
  const timed = events.filter((e) => e.round >= 1);
  return {
    ms,
    cpuMs,
    rawMs,
    rawCpuMs,
    bytesUp: timed.map((e) => e.bytesUp),
    bytesDown: timed.map((e) => e.bytesDown),
    requests: timed.map((e) => e.requests.put + e.requests.get + e.requests.list + e.requests.delete),
    rawBytes: timed.map((e) => e.rawBytes),
    links: timed[0]?.links ?? [],
  };
}

/** Untimed pause before a reference round: the round before's background removals end, the other workers catch up. */
const SETTLE_MS = 25;

/**
 * The reference, sized from one round's `exchange-round` event of this worker: its bytes up as
 * one put and its bytes down as gets of objects of the sizes it read on each edge of the exchange
 * graph. What is read is written beforehand (untimed).
 */
async function rawRounds(store, event) {
  const prefix = `raw/${job.cellRunId}/${rank}`;
  const up = new Uint8Array(event.bytesUp).fill(rank);
  const downParts = event.links.map((l) => l.bytesDown).filter((b) => b > 0);
  for (let i = 0; i < downParts.length; i += 1) {
    await store.put(`${prefix}/src-${i}`, new Uint8Array(downParts[i]).fill(i));
  }
  return {
    async round(round) {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      await store.put(`${prefix}/up-${round}`, up);
      await Promise.all(downParts.map((_, i) => store.get(`${prefix}/src-${i}`)));
      const timed = { ms: performance.now() - t0, cpuMs: cpuSince(cpu0) };
      await store.delete(`${prefix}/up-${round}`);
      return timed;
    },
    dispose: () => store.deletePrefix(`${prefix}/`),
  };
}

const store = job.polling ? pollingOnly(openStore(job.store)) : openStore(job.store);
try {
  const result = await collective(store);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await store.close();
}
