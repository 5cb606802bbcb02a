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
  // The value comes back as a user expression: no output of its own.
  const memory = async () => {
    const header = await kernel.request('execute_request', {
      code: '',
      silent: true,
      store_history: false,
      user_expressions: {
        // RSS as it is, then the live heap after a full collection (gc exposed from inside the cell).
        m: "(() => { const { rss } = process.memoryUsage(); const lazyFree = 1024 * Number(/LazyFree:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1] ?? 0); require('v8').setFlagsFromString('--expose-gc'); require('vm').runInNewContext('gc')(); return { ...process.memoryUsage(), rss, lazyFree }; })()",
      },
      allow_stdin: false,
    });
    const text = header.content.user_expressions.m.data['text/plain'];
    // A plain object's text/plain is its JSON-like inspection: numbers only.
    const m = Object.fromEntries([...text.matchAll(/(\w+): (\d+)/g)].map(([, k, v]) => [k, Number(v)]));
    return {
      rssMb: m.rss / MB,
      heapUsedMb: m.heapUsed / MB,
      heapTotalMb: m.heapTotal / MB,
      externalMb: m.external / MB,
      lazyFreeMb: m.lazyFree / MB,
    };
  };
  for (let i = 0; i < panels; i++) {
    await kernel.notify('comm_open', {
      comm_id: `panel-${i}`,
      target_name: 'jupyter.serverless.telemetry',
      data: {},
    });
  }
  await cell(`const xs = Array.from({ length: ${n} }, (_, i) => i);`);
  const samples = [{ after: 'start', ...(await memory()) }];
  console.log(JSON.stringify(samples[0]));
  for (let round = 1; round <= rounds; round++) {
    const t = Date.now();
    await cell(`%%serverless --map xs --as x\nx * 2`, 600_000);
    samples.push({ after: `map ${round}`, seconds: (Date.now() - t) / 1000, ...(await memory()) });
    console.log(JSON.stringify(samples.at(-1)));
  }
  const ratio = samples.at(-1).rssMb / samples[1].rssMb;
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
