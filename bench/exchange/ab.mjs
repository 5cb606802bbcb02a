// bench/exchange/ab.mjs: one collective's rounds in two builds of the package, side by side in one run
// (the builds alternate, pair by pair, so both see the machine as it is at that moment). A build is
// a checkout with its `kernel-magics/dist` built, e.g. `git worktree add /tmp/before <commit>`, a link
// to this checkout's node_modules, then `npx tsc -b kernel-magics` there.
// Usage: node bench/exchange/ab.mjs <before-checkout> <after-checkout> [workers=2] [floats=101770]
//          [rounds=150] [pairs=4] [strategy=allreduce] [codec=none]
// Embedded store only. Prints, per build, the median over pairs of each run's median round (the
// slowest worker's), the workers' CPU and store requests a round.
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { median } from '../lib/kernel-client.mjs';
import { runJob } from './jobs.mjs';

const [before, after, workers = '2', floats = '101770', rounds = '150', pairs = '4'] = process.argv.slice(2);
const strategy = process.argv[8] ?? 'allreduce';
const codec = process.argv[9] ?? 'none';
if (!before || !after) {
  throw new Error(
    'usage: node bench/exchange/ab.mjs <before-checkout> <after-checkout> [workers] [floats] ...',
  );
}
const builds = { before, after };
const W = Number(workers);
/** Time for W processes to start and load the package before the first round. */
const START_DELAY_MS = 1500;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-exchange-ab-'));
const runs = { before: [], after: [] };
let sequence = 0;

/** One run of `rounds` rounds with the build `name`: medians of the slowest round, summed CPU and requests. */
async function measure(name) {
  sequence += 1;
  const job = {
    store: 'embedded',
    workers: W,
    floats: Number(floats),
    rounds: Number(rounds),
    cellRunId: `ab-${process.pid}-${sequence}`,
    run: 'grads',
    strategy,
    codec,
    startAt: Date.now() + START_DELAY_MS,
  };
  const script = path.join(builds[name], 'bench/exchange/worker.mjs');
  const results = await Promise.all(
    Array.from({ length: W }, (_, rank) =>
      runJob(script, { ...job, rank }, { SERVERLESS_STORE: path.join(tmp, 'store') }),
    ),
  );
  const byRound = (field, combine) =>
    results[0][field].map((_, i) => combine(results.map((r) => r[field][i])));
  return {
    ms: median(byRound('ms', (v) => Math.max(...v))),
    cpuMs: median(byRound('cpuMs', (v) => v.reduce((s, x) => s + x, 0))),
    requests: median(byRound('requests', (v) => v.reduce((s, x) => s + x, 0))),
  };
}

try {
  for (let pair = 0; pair < Number(pairs); pair += 1) {
    for (const name of pair % 2 ? ['after', 'before'] : ['before', 'after']) {
      const run = await measure(name);
      runs[name].push(run);
      process.stderr.write(
        `${name}: ${run.ms.toFixed(2)} ms, ${run.cpuMs.toFixed(2)} CPU ms, ${run.requests} requests a round\n`,
      );
    }
  }
  const line = (name) => {
    const of = (field) => median(runs[name].map((r) => r[field]));
    return `| ${name} | ${of('ms').toFixed(2)} | ${runs[name].map((r) => r.ms.toFixed(2)).join(' ')} | ${of('cpuMs').toFixed(2)} | ${of('requests')} |`;
  };
  const ratio = median(runs.after.map((r) => r.ms)) / median(runs.before.map((r) => r.ms));
  process.stdout.write(
    `\n${W} workers, ${Number(floats).toLocaleString('en-US')} floats, ${strategy} ${codec}, ${rounds} rounds a run, ${pairs} pairs\n\n` +
      '| build | round ms (median of runs) | by run | CPU ms a round | requests a round |\n|---|---|---|---|---|\n' +
      `${line('before')}\n${line('after')}\n\nafter / before: ${ratio.toFixed(2)}\n`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
