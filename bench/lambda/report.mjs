// bench/lambda: the report: p50 and p90 of each side, of their difference per round and the
// ratio, per cell, and the client's parts alone, as markdown tables on stdout; raw samples in
// bench/lambda/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { median, quantile, root } from './cases.mjs';

/** The goal of issue 14: the client adds at most this much to an invocation at p50, ms. */
const GOAL_MS = 1;

const fmt = (value) =>
  value === undefined || Number.isNaN(value)
    ? '-'
    : Math.abs(value) >= 100
      ? value.toFixed(0)
      : value.toFixed(Math.abs(value) >= 10 ? 1 : 3);
const stats = (values) => ({ p50: median(values), p90: quantile(values, 0.9), n: values.length });
const row = (cells) => `| ${cells.join(' | ')} |`;

/** The results as JSON: times to 0.1 us, each array of samples on one line. */
export function resultsJson(result) {
  const text = JSON.stringify(result, (_, v) => (typeof v === 'number' ? Math.round(v * 1e4) / 1e4 : v), 2);
  return `${text.replace(/\[\s+([-\w.,\s]+?)\s+\]/g, (_, inner) => `[${inner.split(/,\s+/).join(', ')}]`)}\n`;
}

/** Prints and writes one run's results. */
export function report({ cases, samples, parts, args, loadBefore, began }) {
  const table = cases.map((c) => {
    const s = samples[c.name];
    const a = stats(s.a);
    const b = stats(s.b);
    const diff = stats(s.diff);
    return {
      name: c.name,
      eventBytes: c.eventBytes,
      a,
      b,
      diff,
      ratio: b.p50 / a.p50,
      // CPU of this process during each call (the client's work, and its share of draining the servers' logs).
      cpuP50: {
        a: median(s.cpuMs.a),
        b: median(s.cpuMs.b),
        diff: median(s.cpuMs.b.map((b, i) => b - s.cpuMs.a[i])),
      },
      // The runner's own duration on each side: the same server work, or the comparison is off.
      runnerP50: { a: median(s.runnerMs.a), b: median(s.runnerMs.b) },
      // The order's effect: b - a when b went first, and when it went second.
      diffP50ByOrder: {
        bFirst: median(s.diff.filter((_, i) => s.bFirst[i])),
        aFirst: median(s.diff.filter((_, i) => !s.bFirst[i])),
      },
      met: diff.p50 <= GOAL_MS ? 'yes' : 'NO',
    };
  });
  const partRows = Object.entries(parts).map(([name, s]) => ({
    name,
    ...Object.fromEntries(Object.entries(s).map(([part, values]) => [part, stats(values)])),
  }));
  const lines = [
    row([
      'cell (event bytes)',
      '(a) bare InvokeCommand p50 / p90',
      '(b) LambdaBackend.invoke p50 / p90',
      'b - a p50 / p90',
      'b / a p50',
      'b - a p50, b first / a first',
      'CPU ms a / b, b - a (p50)',
      'runner ms a / b',
      `<= ${GOAL_MS} ms`,
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---']),
    ...table.map((t) =>
      row([
        `${t.name} (${t.eventBytes.toLocaleString('en-US')})`,
        `${fmt(t.a.p50)} / ${fmt(t.a.p90)}`,
        `${fmt(t.b.p50)} / ${fmt(t.b.p90)}`,
        `**${fmt(t.diff.p50)}** / ${fmt(t.diff.p90)}`,
        fmt(t.ratio),
        `${fmt(t.diffP50ByOrder.bFirst)} / ${fmt(t.diffP50ByOrder.aFirst)}`,
        `${fmt(t.cpuP50.a)} / ${fmt(t.cpuP50.b)}, ${fmt(t.cpuP50.diff)}`,
        `${fmt(t.runnerP50.a)} / ${fmt(t.runnerP50.b)}`,
        t.met,
      ]),
    ),
    '',
    'The client alone, no network (ms, p50 / p90):',
    '',
    row([
      'cell',
      'event build (cache hit)',
      'Buffer.from(JSON.stringify(event))',
      'readAnswer (4 KB tail)',
      'parseLogTail alone',
      'invoke, instant send',
      'reference, instant send',
      'difference of p50s',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...partRows.map((p) =>
      row([
        p.name,
        ...[
          p.eventBuild,
          p.jsonStringify,
          p.readAnswer,
          p.parseLogTail,
          p.invokeNoNetwork,
          p.referenceNoNetwork,
        ].map((s) => `${fmt(s.p50)} / ${fmt(s.p90)}`),
        fmt(p.invokeNoNetwork.p50 - p.referenceNoNetwork.p50),
      ]),
    ),
  ];
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadavg: { before: loadBefore, after: os.loadavg() },
    args,
    wallS: (performance.now() - began) / 1000,
    table,
    parts: partRows,
    samples: { sideBySide: samples, parts },
  };
  const dir = path.join(root, 'bench/lambda/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'latest.json'), resultsJson(result));
  console.log(lines.join('\n'));
  console.log(
    `\nload average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ` +
      `${result.loadavg.after.map((l) => l.toFixed(2)).join(' ')} after; ${args.rounds} rounds ` +
      `(+${args.warmup} dropped), ${args.parts} calls per part; whole bench ${result.wallS.toFixed(1)} s`,
  );
}
