// Kernel memory over large maps: starts our kernel (its kernelspec's command
// line), runs `rounds` maps of `n` elements one after the other and records
// the kernel's RSS and V8 heap after each (asked from a cell, so nothing else
// runs in the kernel meanwhile). The check of issue 11: RSS after the last
// map within 1.5x of RSS after the first.
//
//   npm run build && node bench/kernel-memory/run.mjs [n=100000] [rounds=4] [panels=1]
//
// Writes bench/kernel-memory/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { ourKernel, root, startKernel } from '../lib/kernel-client.mjs';

const n = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 4);
/** Telemetry comms open during the maps, as side panels would have. */
const panels = Number(process.argv[4] ?? 1);
const MB = 1024 * 1024;
const LIMIT = 1.5;

const kernel = await startKernel('serverless-kernel', ourKernel);
const failed = (what, reply) => new Error(`${what} failed: ${JSON.stringify(reply.content).slice(0, 500)}`);
try {
  const cell = async (code, timeoutMs) => {
    const { reply } = await kernel.execute(code, timeoutMs);
    if (reply.content.status !== 'ok') throw failed(code.split('\n')[0], reply);
    return reply;
  };
  // Asked as a user expression (no output of its own). RSS as it is; with
  // `live`, the heap after a full collection too (gc exposed from inside the
  // cell), only after the last map: a forced collection between maps would
  // shrink the heap the next map starts from, which a user's kernel never does.
  const memory = async (live) => {
    const gc = live
      ? "require('v8').setFlagsFromString('--expose-gc'); require('vm').runInNewContext('gc')();"
      : '';
    const reply = await kernel.request('execute_request', {
      code: '',
      silent: true,
      store_history: false,
      user_expressions: {
        m: `(() => { const { rss, heapUsed } = process.memoryUsage(); ${gc} const after = process.memoryUsage(); return { rss, heapUsed, live: after.heapUsed, heapTotal: after.heapTotal, external: after.external }; })()`,
      },
      allow_stdin: false,
    });
    const text = reply.content.user_expressions.m.data['text/plain'];
    // A plain object's text/plain is its inspection: numbers only.
    const m = Object.fromEntries([...text.matchAll(/(\w+): (\d+)/g)].map(([, k, v]) => [k, Number(v)]));
    const sample = {
      rssMb: m.rss / MB,
      heapUsedMb: m.heapUsed / MB,
      heapTotalMb: m.heapTotal / MB,
      externalMb: m.external / MB,
    };
    return live ? { ...sample, liveHeapMb: m.live / MB } : sample;
  };
  for (let i = 0; i < panels; i++) {
    await kernel.notify('comm_open', {
      comm_id: `panel-${i}`,
      target_name: 'jupyter.serverless.telemetry',
      data: {},
    });
  }
  await cell(`const xs = Array.from({ length: ${n} }, (_, i) => i);`);
  const samples = [{ after: 'start', ...(await memory(false)) }];
  console.log(JSON.stringify(samples[0]));
  for (let round = 1; round <= rounds; round++) {
    const t = Date.now();
    await cell(`%%serverless --map xs --as x\nx * 2`, 600_000);
    samples.push({
      after: `map ${round}`,
      seconds: (Date.now() - t) / 1000,
      ...(await memory(round === rounds)),
    });
    console.log(JSON.stringify(samples.at(-1)));
  }
  const ratio = samples.at(-1).rssMb / samples[1].rssMb;
  console.log(`live heap after map ${rounds}: ${samples.at(-1).liveHeapMb.toFixed(0)} MB`);
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    n,
    rounds,
    panels,
    samples,
    ratio,
    limit: LIMIT,
  };
  mkdirSync(path.join(root, 'bench/kernel-memory/results'), { recursive: true });
  writeFileSync(
    path.join(root, 'bench/kernel-memory/results/latest.json'),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  console.log(`RSS after map ${rounds} / after map 1: ${ratio.toFixed(2)} (limit ${LIMIT})`);
  process.exitCode = ratio <= LIMIT ? 0 : 1;
} finally {
  await kernel.stop();
}
