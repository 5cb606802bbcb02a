// bench/panel: the side panel's redraws at 10,000 invocations, in Chromium, side by side with a
// naive reference in one run.
// Usage: node bench/panel/run.mjs [invocations=10000] [concurrency=16] [restDraws=5] [--profile]
//   (after `npm run build` and `npm run build -w lab`)
//
// lab/server.py and Debian's chromium (lab/harness.mjs), a notebook on the serverless-ts kernel, the
// panel open (the app is exposed as window.jupyterapp to reach its widget). Cells run through the
// notebook's own `notebook:run-cell`: `%%serverless --map warm --concurrency C` over 100 elements
// (warm-up: Plotly loaded, pool warm), then `%%serverless --map ids --concurrency C` over
// `invocations` elements, twice. The kernel's real telemetry reaches the panel through its comm.
// - Live redraws: every draw of each view, as the view records it on the Performance timeline
//   (`jupyter-serverless:draw:<View>`: reading the state, which folds the new events, rendering,
//   and `Plotly.react`), collected by a PerformanceObserver in the page; median, p95, max and count
//   per run, against the 100 ms target. The views that draw in one animation frame make one panel
//   redraw (first start -> last `Plotly.react` promise settled); its frame's whole duration, with
//   the browser's rendering, comes from the Long Animation Frames API (frames over 50 ms).
// - At rest, at the first run's final state (machine quiet): `restDraws` forced redraws of the
//   timeline and of the cost view (`invalidate()`: the whole draw again, until `Plotly.react`
//   settled) alternating with the reference: the same final figure (the chart's data and layout)
//   drawn from scratch with `Plotly.newPlot` (what a naive panel that rebuilds its charts on each
//   change pays) into a new div of the same size laid over the chart, with a second copy of the
//   same plotly.js-dist-min. The reference leaves out the shaping that ours includes. Also both
//   until the frame showing the chart was rendered. Medians and ratios ours / reference.
// - JS heap (CDP HeapProfiler.collectGarbage, then Runtime.getHeapUsage) after the warm-up, after
//   the first run and after the second; growth ratio (second - warm-up) / (first - warm-up).
// Waits poll the page's state (waitForFunction), never a fixed time. `--profile` writes a CPU
// profile of the first run to test-results/panel-run1.cpuprofile (open it in Chrome DevTools).
// Writes bench/panel/results/latest.json; prints the tables.
/* global window -- the page functions (here and in ./page.mjs) run in the browser */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

import { checkLabBuilt, LabHarness, ROOT as root, STEP_TIMEOUT_MS } from '../../lab/harness.mjs';
import { installProbe, runCell, settled, redrawView, keepFigures, referenceDraw } from './page.mjs';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const PROFILE = process.argv.includes('--profile');
const N = Number(args[0] ?? 10_000);
const CONCURRENCY = Number(args[1] ?? 16);
const REST_DRAWS = Number(args[2] ?? 5);
const WARM = 100;
const TARGET_MS = 100;
const RUN_TIMEOUT_MS = Number(process.env.PANEL_BENCH_RUN_TIMEOUT_MS ?? 300_000);
const NOTEBOOK = 'panel-bench.ipynb';
const PREFIX = 'jupyter-serverless:draw:';
const VIEWS = ['Timeline', 'Cost'];
// The panel's PLOT_CONFIG (extension/src/views/plotly-loader.ts), for the reference's newPlot.
const PLOT_CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ['lasso2d', 'select2d', 'zoomIn2d', 'zoomOut2d', 'autoScale2d'],
};
for (const [name, value] of Object.entries({
  invocations: N,
  concurrency: CONCURRENCY,
  restDraws: REST_DRAWS,
})) {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a whole number >= 1, got ${value}`);
}

const cell = (source, i) => ({
  cell_type: 'code',
  id: `cell-${i}`,
  metadata: {},
  execution_count: null,
  outputs: [],
  source,
});
const NOTEBOOK_JSON = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: { name: 'serverless-ts', display_name: 'TypeScript (serverless)', language: 'typescript' },
    language_info: { name: 'typescript' },
  },
  cells: [
    `const ids = Array.from({ length: ${N} }, (_, i) => i);\nconst warm = ids.slice(0, ${WARM});`,
    `%%serverless --map warm --as n --concurrency ${CONCURRENCY}\nn * 2`,
    `%%serverless --map ids --as n --concurrency ${CONCURRENCY}\nn * 2`,
  ].map(cell),
};

// Statistics.
const round = (x, digits = 1) => (x === null ? null : +x.toFixed(digits));
const sorted = (values) => [...values].sort((a, b) => a - b);
const quantile = (values, q) =>
  values.length === 0 ? null : sorted(values)[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)];
const median = (values) => {
  if (values.length === 0) return null;
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const stats = (values) => ({
  count: values.length,
  median: round(median(values)),
  p95: round(quantile(values, 0.95)),
  max: round(values.length ? Math.max(...values) : null),
});

// In Node.
const harness = new LabHarness({ tmpPrefix: 'jsl-bench-panel-' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => harness.close().finally(() => process.exit(130)));
}

async function heap(session) {
  await session.send('HeapProfiler.collectGarbage');
  await session.send('HeapProfiler.collectGarbage');
  const { usedSize } = await session.send('Runtime.getHeapUsage');
  return usedSize / 2 ** 20;
}

async function main() {
  checkLabBuilt();
  const plotlyPath = createRequire(path.join(root, 'extension', 'package.json')).resolve(
    'plotly.js-dist-min',
  );
  const { baseUrl, token } = await harness.startServer({
    notebooks: [{ name: NOTEBOOK, json: NOTEBOOK_JSON }],
    serverArgs: ['--expose-app-in-browser'],
  });
  const { cdp } = await harness.startBrowser();
  const page = await cdp.contexts()[0].newPage();
  await page.setViewportSize({ width: 1366, height: 850 });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const errors = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`console.error: ${m.text()}`));

  await page.goto(`${baseUrl}/lab/workspaces/${randomUUID()}/tree/${NOTEBOOK}?reset&token=${token}`);
  await page.waitForSelector('body[data-jp-serverless="loaded"]', { state: 'attached' });
  await page.locator('#jp-main-statusbar', { hasText: 'TypeScript (serverless) | Idle' }).waitFor();
  await page.evaluate(installProbe, PREFIX);
  await page.evaluate(() => window.jupyterapp.commands.execute('jupyter-serverless:open-panel'));
  await page.locator('#jupyter-serverless-panel').waitFor({ state: 'visible' });
  const session = await page.context().newCDPSession(page);

  /** Runs cell `index` until the panel settled on `invocations`, or RUN_TIMEOUT_MS (then `settled` is false). */
  const run = async (index, invocations) => {
    await page.evaluate(() => Object.assign(window.panelBench, { draws: [], frames: [] }));
    const started = Date.now();
    await page.evaluate(runCell, index);
    let settledOk = true;
    try {
      await page.waitForFunction(settled, [invocations, VIEWS], { timeout: RUN_TIMEOUT_MS, polling: 100 });
    } catch (error) {
      if (!/Timeout/.test(error.message)) throw error;
      settledOk = false;
    }
    const wallMs = Date.now() - started;
    const { draws, frames, ran, cellMs } = await page.evaluate(() => {
      const { draws, frames, ran, cellMs } = window.panelBench;
      return { draws, frames, ran, cellMs };
    });
    if (ran === false) throw new Error(`cell ${index} failed`);
    const { events, summaries } = await page.evaluate(() => {
      const panel = window.panelBench.panel();
      const summary = (view) => view.node.querySelector('.jp-serverless-View-summary').textContent;
      return {
        events: panel.model.state.lastSeq,
        summaries: { timeline: summary(panel.timeline), cost: summary(panel.cost) },
      };
    });
    return { settled: settledOk, wallMs, cellMs, draws, frames, events, summaries };
  };

  // `ids` and `warm` (no serverless run), then the warm-up run.
  await page.evaluate(runCell, 0);
  await page.waitForFunction(() => window.panelBench.ran !== undefined);
  if (!(await run(1, WARM)).settled) throw new Error('the panel did not settle on the warm-up run');
  // The reference's Plotly (a second copy of the same version) is loaded before the first heap
  // figure, so all three heap figures hold it.
  const plotlyVersion = JSON.parse(readFileSync(path.join(path.dirname(plotlyPath), 'package.json'), 'utf8'));
  await page.addScriptTag({ content: readFileSync(plotlyPath, 'utf8') });
  if (!(await page.evaluate(() => typeof (window.Plotly ?? window.moduleName)?.newPlot === 'function'))) {
    throw new Error('the reference plotly.js did not load');
  }
  const heapMb = { warm: await heap(session) };

  if (PROFILE) {
    await session.send('Profiler.enable');
    await session.send('Profiler.setSamplingInterval', { interval: 200 });
    await session.send('Profiler.start');
  }
  let first;
  try {
    first = await run(2, WARM + N);
  } finally {
    if (PROFILE) {
      const { profile } = await session.send('Profiler.stop');
      mkdirSync(path.join(root, 'test-results'), { recursive: true });
      writeFileSync(path.join(root, 'test-results', 'panel-run1.cpuprofile'), JSON.stringify(profile));
    }
  }
  heapMb.first = await heap(session);
  const done = { first, heapMb, plotly: plotlyVersion.version, errors };
  if (!first.settled) {
    return done;
  }

  // At rest: ours (forced redraws) alternating with the reference (newPlot from scratch).
  const traces = await page.evaluate(keepFigures);
  const rest = Object.fromEntries(
    VIEWS.map((v) => [v, { oursShown: [], oursSettled: [], refShown: [], refSettled: [] }]),
  );
  for (let i = 0; i <= REST_DRAWS; i++) {
    for (const view of VIEWS) {
      // Alternating which goes first; the first round warms both up.
      const order = i % 2 ? ['reference', 'ours'] : ['ours', 'reference'];
      const times = {};
      for (const side of order) {
        times[side] =
          side === 'ours'
            ? await page.evaluate(redrawView, [view, PREFIX])
            : await page.evaluate(referenceDraw, [view, PLOT_CONFIG]);
      }
      if (i === 0) continue;
      rest[view].oursShown.push(times.ours.shownMs);
      rest[view].oursSettled.push(times.ours.settledMs);
      rest[view].refShown.push(times.reference.shownMs);
      rest[view].refSettled.push(times.reference.settledMs);
    }
  }
  await page.evaluate(() => delete window.panelBench.figures);

  const second = await run(2, WARM + 2 * N);
  heapMb.second = await heap(session);

  // The same cell with the panel closed: how long the notebook takes without the panel drawing.
  await page.evaluate(() => window.jupyterapp.shell.collapseRight());
  await page.locator('#jupyter-serverless-panel').waitFor({ state: 'hidden' });
  await page.evaluate(runCell, 2);
  await page.waitForFunction(() => window.panelBench.ran !== undefined, null, { timeout: RUN_TIMEOUT_MS });
  const closedCellMs = await page.evaluate(() => window.panelBench.cellMs);
  await cdp.close();
  return { ...done, second, rest, traces, closedCellMs };
}

/**
 * The panel's redraws: the views that draw in one animation frame draw one after the other; a
 * group's time is from the first one's start to the last one's end, its frame the long animation
 * frame (over 50 ms) it started in, if any.
 */
function panelFrames(draws, frames) {
  const groups = [];
  for (const d of [...draws].sort((x, y) => x.start - y.start)) {
    const last = groups[groups.length - 1];
    const end = d.start + d.settledMs;
    if (last && d.start <= last.end + 1) last.end = Math.max(last.end, end);
    else groups.push({ start: d.start, end });
  }
  return groups.map((g) => {
    const frame = frames.find((f) => f.start <= g.start && g.start <= f.start + f.ms);
    return { ms: g.end - g.start, frameMs: frame ? frame.ms : null };
  });
}

function liveRows(label, phase) {
  const row = (view, ms, extra) => {
    const s = stats(ms);
    return {
      run: label,
      view,
      redraws: s.count,
      'median ms': s.median,
      'p95 ms': s.p95,
      'max ms': s.max,
      'last 5 median ms': round(median(ms.slice(-5))),
      'median / 100 ms': s.median === null ? null : round(s.median / TARGET_MS, 2),
      ...extra,
    };
  };
  const rows = ['Timeline', 'Traffic', 'Cost'].map((view) => {
    const draws = phase.draws.filter((d) => d.view === view);
    return row(
      view,
      draws.map((d) => d.ms),
      { 'render part (median ms)': round(median(draws.map((d) => d.renderMs))) },
    );
  });
  const groups = panelFrames(phase.draws, phase.frames);
  rows.push(
    row(
      'panel (views of one frame)',
      groups.map((g) => g.ms),
    ),
  );
  // Frames under 50 ms are not reported by the browser: counted as 50 (an upper bound).
  const long = groups.filter((g) => g.frameMs !== null).length;
  rows.push(
    row(
      'its frame, with rendering (LoAF)',
      groups.map((g) => g.frameMs ?? 50),
      { 'render part (median ms)': `${long} of ${groups.length} frames > 50 ms` },
    ),
  );
  return rows;
}

function report({ first, second, rest, heapMb, traces, plotly, errors, closedCellMs }) {
  const phases = [[`run 1: 0 -> ${N}`, first]];
  if (second) phases.push([`run 2: ${N} -> ${2 * N}`, second]);
  const live = phases.flatMap(([label, phase]) => liveRows(label, phase));
  const atRest = !rest
    ? []
    : VIEWS.map((view) => {
        const r = rest[view];
        const [ours, reference] = [median(r.oursSettled), median(r.refSettled)];
        const [oursShown, refShown] = [median(r.oursShown), median(r.refShown)];
        return {
          view,
          traces: traces[view],
          'ours ms': round(ours),
          'reference ms': round(reference),
          'ours / reference': round(ours / reference, 2),
          'ours / 100 ms': round(ours / TARGET_MS, 2),
          'shown: ours': round(oursShown),
          'shown: reference': round(refShown),
          'shown: ratio': round(oursShown / refShown, 2),
        };
      });
  const heapTable = [
    { point: `after the warm-up (${WARM} invocations)`, 'JS heap MB': round(heapMb.warm) },
    { point: `after run 1 (${WARM + N} invocations)`, 'JS heap MB': round(heapMb.first) },
  ];
  if (heapMb.second !== undefined) {
    const growth = (heapMb.second - heapMb.warm) / (heapMb.first - heapMb.warm);
    heapTable.push(
      { point: `after run 2 (${WARM + 2 * N} invocations)`, 'JS heap MB': round(heapMb.second) },
      { point: 'ratio run 2 / run 1', 'JS heap MB': round(heapMb.second / heapMb.first, 2) },
      { point: 'growth ratio (run 2 - warm) / (run 1 - warm)', 'JS heap MB': round(growth, 2) },
    );
  }
  const runs = phases.map(([label, p]) => ({
    run: label,
    settled: p.settled,
    wallMs: p.wallMs,
    cellMs: p.cellMs === null ? null : Math.round(p.cellMs),
    events: p.events,
    summaries: p.summaries,
    // Every frame over 50 ms while it ran (with or without a panel draw in it).
    longFrames: {
      count: p.frames.length,
      totalMs: Math.round(p.frames.reduce((sum, f) => sum + f.ms, 0)),
      maxMs: Math.round(Math.max(0, ...p.frames.map((f) => f.ms))),
    },
  }));
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadavg: os.loadavg().map((x) => round(x, 2)),
    invocations: N,
    concurrency: CONCURRENCY,
    restDraws: REST_DRAWS,
    plotly,
    runs,
    closedCellMs: closedCellMs === undefined ? null : Math.round(closedCellMs),
    live,
    atRest,
    heapMb,
    heapTable,
    errors,
    samples: Object.fromEntries(phases.map(([label, p]) => [label, { draws: p.draws, frames: p.frames }])),
    rest,
  };
  mkdirSync(path.join(root, 'bench/panel/results'), { recursive: true });
  writeFileSync(path.join(root, 'bench/panel/results/latest.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(`bench/panel: ${N} invocations per run, --concurrency ${CONCURRENCY}, plotly.js ${plotly}`);
  for (const r of runs) {
    const state = r.settled
      ? `panel settled after ${r.wallMs} ms`
      : `panel NOT settled after ${r.wallMs} ms (it showed: "${r.summaries.timeline}" / "${r.summaries.cost}")`;
    const f = r.longFrames;
    const cell = r.cellMs === null ? 'its reply never reached the notebook' : `the cell took ${r.cellMs} ms`;
    console.log(
      `  ${r.run}: ${state}; ${cell}; ${r.events} telemetry events folded; ${f.count} frames over 50 ms, ` +
        `${f.totalMs} ms in all (${Math.round((100 * f.totalMs) / r.wallMs)}% of the time), the longest ${f.maxMs} ms`,
    );
  }
  if (closedCellMs !== undefined) {
    console.log(
      `  the same cell with the panel closed took ${Math.round(closedCellMs)} ms (reference for the cell times)`,
    );
  }
  console.log('Live redraws (every draw of each view while the run goes):');
  console.table(live);
  if (rest) {
    console.log(
      `At rest, the final figure of run 1 (median of ${REST_DRAWS}, alternating; ours = a redraw until ` +
        'Plotly.react settled, reference = Plotly.newPlot until it settled; shown = until the frame showing it was rendered):',
    );
    console.table(atRest);
  } else {
    console.log('Run 1 did not settle: no at-rest comparison, no second run.');
  }
  console.table(heapTable);
  if (errors.length > 0) {
    console.log(`browser errors:\n  ${errors.join('\n  ')}`);
  }
}

let exitCode = 0;
try {
  report(await main());
} catch (error) {
  exitCode = 1;
  process.stderr.write(`bench/panel: FAILED: ${error.stack}\n`);
  process.stderr.write(`--- server output (tail) ---\n${harness.serverOutput().slice(-3000)}\n`);
} finally {
  await harness.close();
}
process.exit(exitCode);
