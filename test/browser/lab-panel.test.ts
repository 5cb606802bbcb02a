/**
 * The side panel in a real browser: the JupyterLab that `npm start` serves,
 * Debian's chromium driven by playwright-core, a notebook on serverless-ts.
 * A `%%serverless --map` over 50 elements (one fails) ends with its 50
 * invocations drawn in their final states; the cost view's total is what
 * `%serverless cost` prints; a reload while a run is going replays the
 * kernel's history into the panel; zooming into the timeline of a
 * 1,500-element map with the mouse splits its merged bars; a 4-worker
 * scatter-reduce on the embedded store, then an all-reduce, draw their
 * rounds, compression and exchange graph in the gradient-traffic view, one
 * or the other as picked; two train() calls draw their loss, accuracy and
 * cost per epoch in the training view, live, the newest shown and the other
 * as picked; the dark theme recolours it; a map on `--backend lambda` (the
 * runner under serverless-offline, behind a proxy answering 429 to a share of
 * the Invokes) draws its throttled attempts as retried bars; a
 * `%%serverless --tune` cell shows its table and its chart, drawn by the
 * extension's Plotly renderer (not its text fallback), following the
 * output's width; the console shows no errors.
 * All of it twice: in the newest JupyterLab (what `npm start` serves) and in
 * the oldest release the extension supports (lab/oldest/build; both in
 * extension/compat.json), with the same prebuilt extension.
 * Screenshots go to test-results/browser/ (`-oldest` added for the oldest).
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';

import type { Locator, Page } from 'playwright-core';
import * as kernelApi from 'serverless-kernel';

import { OfflineServers, S3RVER_CREDENTIALS, startOffline } from '../../kernel-magics/src/cli/offline';
import { RecordedPage, SCREENSHOT_DIR, startBrowser, TestBrowser } from '../helpers/browser';
import {
  LAB_RELEASES,
  LabBuild,
  LabServer,
  servedRelease,
  serverlessNotebook,
  startLab,
} from '../helpers/lab';
import {
  drawnInvocations,
  notebook,
  openPanel,
  PANEL,
  runCell,
  timelineSummary,
  waitForKernel,
  waitForTimelineBars,
} from '../helpers/lab-page';
import { startThrottleProxy, ThrottleProxy } from '../helpers/lambda-throttle-proxy';
import { freePort } from '../helpers/processes';
import {
  DrawnTraffic,
  drawnTraffic,
  edgeSegments,
  summaryRatio,
  trafficGeometry,
} from '../helpers/traffic-view';
import { drawnTraining } from '../helpers/training-view';

const STEP_MS = 60_000;
const NOTEBOOK = 'panel.ipynb';
/** The rounds each exchange of the traffic test runs. */
const ROUNDS = 12;
/** Epochs each train() call of the training test runs. */
const EPOCHS = 4;
/** The sizes `--tune` compares by default (DESIGN.md), as the chart labels them. */
const PLOTLY_OUTPUT_LABELS = ['128 MB', '512 MB', '1024 MB', '1769 MB', '3008 MB'];
/** The tuning test's cell: `--tune` over the default grid, on a body that mostly waits (the smallest size is cheapest). */
const PLOTLY_OUTPUT_CELL_SOURCE =
  '%%serverless --tune\nawait new Promise((resolve) => setTimeout(resolve, 50));\n1';

const CELLS = [
  'const xs = Array.from({ length: 50 }, (_, i) => i);',
  [
    '%%serverless --map xs --as x --concurrency 8',
    'await new Promise((resolve) => setTimeout(resolve, 20 + (x % 5) * 10));',
    'if (x === 7) {',
    "  throw new Error('element 7 fails');",
    '}',
    'x * 2',
  ].join('\n'),
  '%serverless cost',
  'const slow = Array.from({ length: 30 }, (_, i) => i);',
  [
    '%%serverless --map slow --as y --concurrency 2',
    'await new Promise((resolve) => setTimeout(resolve, 600));',
    'y',
  ].join('\n'),

  '%serverless cost',
  'const many = Array.from({ length: 1500 }, (_, i) => i);',
  '%%serverless --map many --as m --concurrency 4\nm * 2',
  exchangeCell('scatter-reduce', 'scatterReduce'),
  exchangeCell('allreduce', 'allreduce'),
  // The training test's cells (10-12): real data-parallel training through train() (issue 13).
  [
    "import * as tf from '@tensorflow/tfjs';",
    "import { datasets, train } from 'serverless-kernel';",
    'const { train: trainSet, test } = await datasets.mnist({ train: 512, test: 128 });',
    'function mlp() {',
    "  const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 32, activation: 'relu' }), tf.layers.dense({ units: 10, activation: 'softmax' })] });",
    "  m.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });",
    '  return m;',
    '}',
  ].join('\n'),
  trainCell('panel-mlp', 'allreduce'),
  trainCell('panel-mlp-sr', 'scatter-reduce'),
  PLOTLY_OUTPUT_CELL_SOURCE,
];

/** A train() call on 2 workers with validation, checkpointed as `name`; its value is the epochs it ran. */
function trainCell(name: string, strategy: string): string {
  return [
    `const run_${name.replace(/-/g, '_')} = await train({ model: mlp(), data: trainSet, validation: test,`,
    // Small steps: epochs long enough (64 steps) for the panel to be seen between them on a loaded machine.
    `  workers: 2, epochs: ${EPOCHS}, batchSize: 8, strategy: '${strategy}', name: '${name}' });`,
    `run_${name.replace(/-/g, '_')}.history.length`,
  ].join('\n');
}

/**
 * train() (issue 13) sends the training-epoch events the training view draws; the kernel
 * exports it once it exists: until then the training test has nothing real to run.
 */
const HAS_TRAIN = typeof (kernelApi as Record<string, unknown>).train === 'function';

/** A 4-worker map that exchanges a 4096-float vector per round, top-k compressed, through the embedded store. */
function exchangeCell(strategy: string, call: string): string {
  return [
    '%%serverless --map [0, 1, 2, 3] --as rank --concurrency 4',
    "import { exchange } from 'serverless-kernel';",
    `const ex = await exchange.open({ run: 'grads', rank, workers: 4, strategy: '${strategy}', codec: 'topk:0.1' });`,
    `for (let round = 0; round < ${ROUNDS}; round += 1) await ex.${call}(Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i + rank + round)), { round });`,
    'await ex.close();',
    'rank',
  ].join('\n');
}

const PLOTLY_OUTPUT_CELL = CELLS.indexOf(PLOTLY_OUTPUT_CELL_SOURCE);

/** The Lambda test's cells, after the others: its config line (ports known once the servers run) and a map. */
const LAMBDA_CONFIG_CELL = CELLS.length;
const LAMBDA_MAP_CELL = CELLS.length + 1;
/** Elements of the Lambda test's map. */
const LAMBDA_ELEMENTS = 24;

/** The JupyterLab builds the suite runs in, newest first: [release, build]. */
const BUILDS: [string, LabBuild][] = [
  [LAB_RELEASES.newest, 'newest'],
  [LAB_RELEASES.oldest, 'oldest'],
];

let lab: LabServer;
let chrome: TestBrowser;
let recorded: RecordedPage;
let page: Page;
/** Added to screenshot names: which build took them. */
let shotSuffix = '';
let offline: OfflineServers | undefined;
let throttler: ThrottleProxy | undefined;

// The Lambda and S3 peers serve both builds' runs.
beforeAll(async () => {
  offline = await startOffline({ lambdaPort: await freePort(), s3Port: await freePort() });
  throttler = await startThrottleProxy(offline.lambdaEndpoint, { share: 0 });
  CELLS.push(
    offline.configLine.replace(offline.lambdaEndpoint, throttler.endpoint),
    `%%serverless --map Array.from({ length: ${LAMBDA_ELEMENTS} }, (_, i) => i) --as n --concurrency 4\nn + 1`,
  );
  // The kernel's credentials: the only ones s3rver accepts (the lab's kernel inherits this environment).
  Object.assign(process.env, S3RVER_CREDENTIALS);
}, 120_000);

afterAll(async () => {
  // Both, whatever happens to the other.
  await Promise.allSettled([throttler?.close(), offline?.stop()]);
}, 60_000);

/** Where screenshot `name` of the build under test goes. */
function screenshotPath(name: string): string {
  return path.join(SCREENSHOT_DIR, `${name}${shotSuffix}.png`);
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: screenshotPath(name) });
}

function costSummary(): Locator {
  return page.locator(`${PANEL} .jp-serverless-Cost .jp-serverless-View-summary`);
}

/**
 * Runs in the page: how many bars of the timeline's `done` trace stand for
 * several invocations (no invocation id); 0 (falsy, so a wait goes on) for none.
 */
function mergedDoneBars(selector: string): number {
  const plot = document.querySelector(`${selector} .jp-serverless-Timeline .js-plotly-plot`) as
    (Element & { data?: { name?: string; customdata?: (string | null)[] }[] }) | null;
  const done = plot?.data?.find((t) => t.name === 'done');
  return (done?.customdata ?? []).filter((id) => id === null).length;
}

/**
 * Runs in the page: whether the timeline's `retried` trace stands for at
 * least `count` invocations. A bar merged with its row's neighbours (a row
 * with more bars than pixels) has no id, and its hover text starts with how
 * many it holds.
 */
function retriedBarsCover([selector, count]: readonly [string, number]): boolean {
  const plot = document.querySelector(`${selector} .jp-serverless-Timeline .js-plotly-plot`) as
    (Element & { data?: { name?: string; customdata?: (string | null)[]; hovertext?: string[] }[] }) | null;
  const retried = plot?.data?.find((t) => t.name === 'retried');
  let invocations = 0;
  (retried?.customdata ?? []).forEach((id, i) => {
    invocations +=
      typeof id === 'string' ? 1 : Number(/^(\d+) invocations/.exec(retried?.hovertext?.[i] ?? '')?.[1] ?? 0);
  });
  return invocations >= count;
}

/** What {@link recordSummaries} keeps on the page's window. */
interface SummaryRecorder {
  shownSummaries: { text: string; running: boolean }[];
  summaryObserver: MutationObserver;
}

/**
 * Runs in the page: from now on, records every text the summary of the view
 * `selector` shows, and whether `cell` was running then (its prompt `[*]`).
 */
function recordSummaries([selector, cell]: readonly [string, Element | null]): void {
  const recorder = window as unknown as SummaryRecorder;
  recorder.shownSummaries = [];
  const view = document.querySelector(selector);
  if (!view) {
    throw new Error(`no ${selector} to watch`);
  }
  let last = '';
  recorder.summaryObserver = new MutationObserver(() => {
    const text = view.querySelector('.jp-serverless-View-summary')?.textContent ?? '';
    if (text !== last) {
      last = text;
      const prompt = cell?.querySelector('.jp-InputPrompt')?.textContent ?? '';
      recorder.shownSummaries.push({ text, running: prompt.includes('[*]') });
    }
  });
  recorder.summaryObserver.observe(view, { subtree: true, childList: true, characterData: true });
}

/** A dollar amount in `text` after `label`. */
function dollars(text: string, label: RegExp): string {
  const match = new RegExp(`${label.source}\\s*(\\$[\\d.]+)`).exec(text);
  if (!match) {
    throw new Error(`No amount after ${label} in: ${text}`);
  }
  return match[1];
}

const TRAFFIC = `${PANEL} .jp-serverless-Traffic`;
const TRAINING = `${PANEL} .jp-serverless-Training`;

function trafficSummary(): Locator {
  return page.locator(`${TRAFFIC} .jp-serverless-View-summary`);
}

/** Expands the section titled `title` (a click on its title) unless it is expanded; `view` is its view. */
async function openSection(title: string, view: string): Promise<void> {
  const heading = page.locator(`${PANEL} .lm-AccordionPanel-title`, { hasText: title });
  if ((await heading.getAttribute('aria-expanded')) !== 'true') {
    await heading.click();
  }
  await page.locator(view).waitFor({ state: 'visible' });
}

/** Collapses or expands each section titled in `titles` (a click on its title). */
async function toggleSections(titles: string[]): Promise<void> {
  for (const title of titles) {
    await page.locator(`${PANEL} .lm-AccordionPanel-title`, { hasText: title }).click();
  }
}

/** Expands the gradient-traffic section unless it is expanded. */
async function openTrafficSection(): Promise<void> {
  await openSection('Gradient traffic', TRAFFIC);
}

/** The traffic chart's figure once it draws {@link ROUNDS} bars a worker and a graph whose caption names `layout`. */
async function waitForTraffic(layout: string): Promise<DrawnTraffic> {
  const handle = await page.waitForFunction(drawnTraffic, [TRAFFIC, ROUNDS, layout] as const);
  return (await handle.jsonValue()) as DrawnTraffic;
}

describe.each(BUILDS)('the serverless side panel in JupyterLab %s (%s)', (release, build) => {
  // A fresh server (its own notebook and kernel) and browser per build.
  beforeAll(async () => {
    shotSuffix = build === 'newest' ? '' : `-${build}`;
    lab = await startLab({ [NOTEBOOK]: serverlessNotebook(CELLS) }, { build });
    chrome = await startBrowser();
    recorded = await chrome.newPage();
    page = recorded.page;
    page.setDefaultTimeout(STEP_MS);
  }, 120_000);

  afterAll(async () => {
    // Both, whatever happens to the other.
    await Promise.allSettled([chrome?.stop(), lab?.stop()]);
  }, 60_000);

  it('shows a 50-element map in its final states, and the cost %serverless cost prints', async () => {
    await page.goto(lab.notebookUrl(NOTEBOOK, randomUUID()));
    await waitForKernel(page, 'Idle');
    // The page runs the release under test (not another build).
    const buildHash = await page.evaluate(
      () =>
        (
          JSON.parse(document.getElementById('jupyter-config-data')?.textContent ?? '{}') as {
            buildHash?: string;
          }
        ).buildHash ?? '',
    );
    expect(servedRelease(buildHash)).toBe(release);
    await runCell(page, 0);
    const map = await runCell(page, 1);
    await map.locator('.jp-OutputArea-output', { hasText: 'element 7 fails' }).first().waitFor();
    // The progress bar's cost is shown as text, not typeset as LaTeX between two dollar signs.
    await map.locator('.jp-serverless-Progress', { hasText: /50\/50 done, 1 failed, .*\$[\d.]+/ }).waitFor();
    await openPanel(page);

    const summary = timelineSummary(page);
    await summary
      .filter({ hasText: /^50 invocations · 1 run · \d+ environments? · \d+ cold starts? · 1 failed$/ })
      .waitFor();
    await waitForTimelineBars(page);
    const drawn = await drawnInvocations(page);
    expect(drawn.done).toHaveLength(49);
    expect(drawn.failed).toHaveLength(1);
    expect(new Set([...drawn.done, ...drawn.failed]).size).toBe(50);
    for (const state of ['queued', 'running', 'retried', 'cancelled']) {
      expect(drawn[state] ?? []).toHaveLength(0);
    }
    // Bars are in the SVG, not only in the figure's data.
    const bars = await page.locator(`${PANEL} .jp-serverless-Timeline .barlayer .point path`).count();
    expect(bars).toBeGreaterThanOrEqual(50);
    // Each finished bar's hover gives both clocks: ran here, and on Lambda's share of a vCPU (issue 15).
    const hovers = await page.evaluate((selector) => {
      const plot = document.querySelector(`${selector} .jp-serverless-Timeline .js-plotly-plot`) as
        (Element & { data?: { name?: string; hovertext?: string[] }[] }) | null;
      return (plot?.data ?? []).filter((t) => t.name === 'done').flatMap((t) => t.hovertext ?? []);
    }, PANEL);
    // Lines are wrapped to the panel's width at spaces.
    const unwrapped = hovers.map((text) => text.replace(/<br>/g, ' '));
    expect(hovers.length).toBeGreaterThan(0);
    expect(unwrapped.every((text) => /ran [\d.]+ m?s here \([\d.]+ m?s on the CPU\)/.test(text))).toBe(true);
    expect(unwrapped.every((text) => /on a 1024 MB Lambda's share of a vCPU/.test(text))).toBe(true);

    const costCell = await runCell(page, 2);
    const kernelTotal = await costCell.locator('.jp-serverless-Cost-total').textContent();
    expect(kernelTotal).toMatch(/over 50 invocations/);
    // Both clocks in the table: billed (Lambda's) and ran (here).
    expect(await costCell.locator('.jp-serverless-Cost-table th').allTextContents()).toEqual(
      expect.arrayContaining(['billed ms', 'ran ms']),
    );
    const costSummaryLine = costSummary();
    await costSummaryLine.filter({ hasText: /over 50 invocations/ }).waitFor();
    const panelTotal = dollars((await costSummaryLine.textContent()) ?? '', /Total/);
    expect(panelTotal).toBe(dollars(kernelTotal ?? '', /Kernel total:/));
    expect(panelTotal).not.toBe('$0');
    // The status bar item shows the same live total.
    await page.locator('#jp-main-statusbar', { hasText: panelTotal }).waitFor();
    await screenshot('panel-map-50-light');
    expect(recorded.errors).toEqual([]);
  }, 180_000);

  it('replays the history into the panel after a reload in the middle of a run', async () => {
    await runCell(page, 3);
    await runCell(page, 4, { wait: false });
    const summary = timelineSummary(page);
    await summary.filter({ hasText: /2 runs .*[1-9]\d* running/ }).waitFor();
    await screenshot('panel-running-before-reload');
    // Reload the app where it is (its URL no longer asks for a workspace reset).
    const url = page.url();
    expect(url).not.toMatch(/[?&]reset/);
    await page.reload();
    // The kernel is still running the cell, and says so to the reconnected page.
    await waitForKernel(page, 'Busy');
    await openPanel(page);
    // The first run ended before the reload: only the replay can have brought it back.
    await summary.filter({ hasText: /^80 invocations · 2 runs/ }).waitFor();
    await waitForTimelineBars(page);
    await screenshot('panel-replayed-after-reload');
    // The second run finishes live after the replay.
    await summary
      .filter({ hasText: /^80 invocations · 2 runs · \d+ environments? · \d+ cold starts? · 1 failed$/ })
      .waitFor({
        timeout: 90_000,
      });
    await waitForKernel(page, 'Idle');
    const drawn = await drawnInvocations(page);
    expect(drawn.done).toHaveLength(79);
    expect(drawn.failed).toHaveLength(1);
    // What the replayed and live events add up to is the kernel's own bill, part by part.
    const costCell = await runCell(page, 5);
    const kernelTotal = (await costCell.locator('.jp-serverless-Cost-total').textContent()) ?? '';
    const panelTotal =
      (await costSummary()
        .filter({ hasText: /over 80 invocations/ })
        .textContent()) ?? '';
    for (const [kernelLabel, panelLabel] of [
      [/Kernel total:/, /Total/],
      [/compute/, /compute/],
      [/init/, /INIT/],
      [/requests/, /requests/],
    ]) {
      expect(dollars(panelTotal, panelLabel)).toBe(dollars(kernelTotal, kernelLabel));
    }
    expect(recorded.errors).toEqual([]);
  }, 180_000);

  it('splits merged bars into invocations where the user zooms in, and merges them again on reset', async () => {
    await runCell(page, 6);
    await runCell(page, 7);
    await timelineSummary(page)
      .filter({ hasText: /^1580 invocations · 3 runs/ })
      .waitFor();
    await waitForKernel(page, 'Idle');
    // 1,500 bars on 4 rows do not fit a plot ~260 px wide: merged.
    await page.waitForFunction(mergedDoneBars, PANEL);
    // Zoom onto the map's end with the mouse (drags of 30 px), as a user would.
    type Geometry = { from: number; to: number; y: number; range: number[] };
    const geometry = (): Promise<Geometry> =>
      page.evaluate((selector) => {
        type Axis = {
          _offset: number;
          _length: number;
          range: string[];
          d2p(v: number): number;
          r2l(v: string): number;
        };
        const plot = document.querySelector(
          `${selector} .jp-serverless-Timeline .js-plotly-plot`,
        ) as Element & {
          data: { name?: string; base: number[]; x: number[] }[];
          _fullLayout: { xaxis: Axis; yaxis: Axis };
        };
        const done = plot.data.find((t) => t.name === 'done')!;
        const last = Math.max(...done.base.map((b, i) => b + done.x[i]));
        const { xaxis: xa, yaxis: ya } = plot._fullLayout;
        const box = plot.getBoundingClientRect();
        const to = box.left + xa._offset + Math.min(xa._length - 2, xa.d2p(last));
        return {
          from: to - 30,
          to,
          y: box.top + ya._offset + ya._length / 2,
          range: xa.range.map((r) => xa.r2l(r)),
        };
      }, PANEL);
    // Every done bar crossing the range shown is an invocation of its own, with its id (merged
    // bars, spanning many pixels' worth of time at the whole range, would cross it); how many.
    const splitInRange = (range: number[]) =>
      page.waitForFunction(
        ([selector, window]) => {
          const plot = document.querySelector(`${selector} .jp-serverless-Timeline .js-plotly-plot`) as
            | (Element & {
                data?: { name?: string; base: number[]; x: number[]; customdata: (string | null)[] }[];
              })
            | null;
          const done = plot?.data?.find((t) => t.name === 'done');
          if (!done) {
            return false;
          }
          const crossing = done.base
            .map((b, i) => ({ b, e: b + done.x[i], id: done.customdata[i] }))
            .filter(({ b, e }) => b < window[1] && e > window[0]);
          return crossing.length > 0 && crossing.every(({ id }) => typeof id === 'string')
            ? crossing.length
            : false;
        },
        [PANEL, range] as const,
        { timeout: 5_000 },
      );
    // Zoomed in until the range shows fewer bars a row than it has pixels (each drag ~1/9 of
    // the span; how many it takes depends on how fast the map ran).
    let drag = await geometry();
    let split = 0;
    for (let zoom = 0; zoom < 4 && split === 0; zoom++) {
      const before = drag.range;
      await page.mouse.move(drag.from, drag.y);
      await page.mouse.down();
      await page.mouse.move(drag.to, drag.y, { steps: 8 });
      await page.mouse.up();
      for (let i = 0; i < 50 && (drag = await geometry()).range[0] === before[0]; i++) {
        await page.waitForTimeout(100);
      }
      expect(drag.range[1] - drag.range[0]).toBeLessThan(before[1] - before[0]);
      split = await splitInRange(drag.range).then(
        async (handle) => Number(await handle.jsonValue()),
        () => 0,
      );
    }
    expect(split).toBeGreaterThan(0);
    await screenshot('panel-zoomed');
    // A double click goes back to the whole range, merged again.
    await page.mouse.dblclick((drag.from + drag.to) / 2, drag.y);
    await page.waitForFunction(mergedDoneBars, PANEL);
    expect(await page.evaluate(mergedDoneBars, PANEL)).toBeGreaterThan(0);
    expect(recorded.errors).toEqual([]);
  }, 180_000);

  it('draws the rounds, compression and exchange graph of a scatter-reduce and an all-reduce', async () => {
    // Before any exchange the section is a line of text.
    await openPanel(page);
    await openTrafficSection();
    const empty = page.locator(`${TRAFFIC} .jp-serverless-Traffic-empty`);
    await empty.filter({ hasText: /^No gradient traffic yet\./ }).waitFor();
    expect(await page.locator(`${TRAFFIC} .js-plotly-plot`).count()).toBe(0);
    const scatter = await runCell(page, 8);
    // runCell waited for the cell's end: the map's 4 invocations are done, none failed.
    const progress = (await scatter.locator('.jp-serverless-Progress').textContent()) ?? '';
    expect(progress).toMatch(/4\/4 done/);
    expect(progress).not.toMatch(/failed/);
    await empty.waitFor({ state: 'hidden' });

    // The summary names the exchange, its strategy, workers and rounds, and what top-k saved.
    const summary = trafficSummary();
    await summary.filter({ hasText: `${ROUNDS} rounds` }).waitFor();
    const scatterText = (await summary.textContent()) ?? '';
    expect(scatterText).toMatch(/ grads · scatter-reduce · topk:0\.1 · embedded · 4 workers · 12 rounds · /);
    // A bar per round: none stands for several.
    expect(scatterText).not.toMatch(/a bar per/);
    expect(summaryRatio(scatterText)).toBeGreaterThan(1);

    const drawn = await waitForTraffic('mesh');
    const names = drawn.traces.map((t) => t.name);
    const workers = drawn.traces.filter((t) => /^w\d+$/.test(t.name));
    expect(workers.map((t) => t.name)).toEqual(['w0', 'w1', 'w2', 'w3']);
    for (const w of workers) {
      expect(w.type).toBe('bar');
      // One bar per round, at rounds 0..11, each worker having moved bytes in each.
      expect(w.x).toEqual(Array.from({ length: ROUNDS }, (_, i) => i));
      expect(w.y).toHaveLength(ROUNDS);
      expect(w.y.every((bytes) => bytes !== null && bytes > 0)).toBe(true);
    }
    const ratio = drawn.traces.find((t) => t.name === 'compression ratio');
    expect(ratio?.y).toHaveLength(ROUNDS);
    expect(ratio?.y.every((r) => r !== null && r > 1)).toBe(true);
    // A mesh: every worker reaches the shard every other one owns, both ways drawn as one edge.
    expect(edgeSegments(drawn.traces)).toBe(6);
    const nodes = drawn.traces.find((t) => t.name === 'nodes');
    expect(nodes?.text).toEqual(['w0', 'w1', 'w2', 'w3']);
    expect(nodes?.x).toHaveLength(4);
    expect(names.slice(0, 5)).toEqual(['w0', 'w1', 'w2', 'w3', 'compression ratio']);
    // The bars are in the SVG, not only in the figure's data.
    await page.waitForFunction(
      (selector) => document.querySelectorAll(`${selector} .barlayer .point path`).length >= 48,
      TRAFFIC,
    );
    // One exchange: nothing to pick.
    expect(await page.locator(`${TRAFFIC} .jp-serverless-Traffic-picker`).isHidden()).toBe(true);
    // The section took room once traffic came (it starts as a line of text), enough for the
    // chart not to scroll; the round axis, the graph's caption and the graph do not overlap and
    // the nodes' names are inside the graph's axes (outside, they are clipped).
    const geometry = await page.evaluate(trafficGeometry, PANEL);
    expect(geometry.share).toBeGreaterThan(0.5);
    expect(geometry.overflow).toBeLessThanOrEqual(0);
    expect(geometry.roundTitleBottom).toBeLessThanOrEqual(geometry.captionTop);
    expect(geometry.captionBottom).toBeLessThanOrEqual(geometry.graphTop);
    expect(geometry.labels.map((l) => l.text).sort()).toEqual(['w0', 'w1', 'w2', 'w3']);
    for (const label of geometry.labels) {
      expect(label.top).toBeGreaterThanOrEqual(geometry.graphTop);
      expect(label.bottom).toBeLessThanOrEqual(geometry.graphBottom);
    }
    await screenshot('panel-traffic-scatter-reduce');

    // A second run: the newest exchange is shown, and the picker offers both.
    await runCell(page, 9);
    const picker = page.locator(`${TRAFFIC} .jp-serverless-Traffic-picker`);
    await picker.waitFor({ state: 'visible' });
    await summary.filter({ hasText: /· allreduce · .*· 12 rounds ·/ }).waitFor();
    const star = await waitForTraffic('star');
    // A star: each of the 3 other workers linked to the leader (a diamond in the middle).
    expect(edgeSegments(star.traces)).toBe(3);
    expect(star.traces.find((t) => t.name === 'nodes')?.symbols).toContain('diamond');
    const select = picker.locator('select');
    const options = await select.locator('option').allTextContents();
    expect(options).toHaveLength(2);
    expect(options[0]).toMatch(/grads · allreduce$/);
    expect(options[1]).toMatch(/grads · scatter-reduce$/);
    await screenshot('panel-traffic-allreduce');

    // Picking the scatter-reduce shows it again, picking the all-reduce back shows that.
    await select.selectOption({ label: options[1] });
    await summary.filter({ hasText: /· scatter-reduce · / }).waitFor();
    expect(edgeSegments((await waitForTraffic('mesh')).traces)).toBe(6);
    expect(await summary.textContent()).toBe(scatterText);
    await select.selectOption({ label: options[0] });
    await summary.filter({ hasText: /· allreduce · / }).waitFor();
    await waitForTraffic('star');
    expect(recorded.errors).toEqual([]);
  }, 240_000);

  (HAS_TRAIN ? it : it.skip)(
    'draws the loss, accuracy and cost per epoch of two train() calls, live, the newest or the one picked',
    async () => {
      await openPanel(page);
      await openSection('Training', TRAINING);
      const empty = page.locator(`${TRAINING} .jp-serverless-Training-empty`);
      await empty.filter({ hasText: /^No training yet\./ }).waitFor();
      expect(await page.locator(`${TRAINING} .js-plotly-plot`).count()).toBe(0);
      await runCell(page, 10);

      // Live: the chart shows the first epochs while the call is still running. The call can take less time
      // than a few polls of a loaded machine, so every summary the panel shows is recorded as it is shown.
      const summary = page.locator(`${TRAINING} .jp-serverless-View-summary`);
      const cell = await notebook(page).locator('.jp-CodeCell').nth(11).elementHandle();
      await page.evaluate(recordSummaries, [TRAINING, cell] as const);
      const first = await runCell(page, 11, { wait: false });
      await first.locator('.jp-InputPrompt', { hasText: /\[\d+\]/ }).waitFor();
      const shown = await page.evaluate(() => {
        const recorder = window as unknown as SummaryRecorder;
        recorder.summaryObserver.disconnect();
        return recorder.shownSummaries;
      });
      const live = new RegExp(`· epoch [1-${EPOCHS - 1}] of ${EPOCHS} ·`);
      expect(shown.some((s) => s.running && live.test(s.text))).toBe(true);
      expect(await first.locator('.jp-OutputArea-output').last().textContent()).toContain(String(EPOCHS));
      await summary.filter({ hasText: `· epoch ${EPOCHS} of ${EPOCHS} ·` }).waitFor();
      const text = (await summary.textContent()) ?? '';
      expect(text).toMatch(
        /^(\[\d+\]|#\d+) panel-mlp · allreduce · 2 workers · none · embedded · epoch 4 of 4 · loss [\d.]+ · validation loss [\d.]+ · accuracy [\d.]+% · validation accuracy [\d.]+% · /,
      );
      expect(text).toMatch(/ samples\/s · [\d.]+ [kMG]?B exchanged · total \$[\d.]+/);

      const traces = (await (
        await page.waitForFunction(drawnTraining, [TRAINING, EPOCHS] as const)
      ).jsonValue())!;
      expect(traces.map((t) => t.name)).toEqual([
        'loss',
        'validation loss',
        'accuracy',
        'validation accuracy',
        'cost per epoch',
        'total cost',
      ]);
      const byName = new Map(traces.map((t) => [t.name, t]));
      const epochs = Array.from({ length: EPOCHS }, (_, i) => i + 1);
      expect(byName.get('loss')!.x).toEqual(epochs);
      expect(byName.get('loss')!.y.every((y) => y !== null && y > 0)).toBe(true);
      expect(byName.get('accuracy')!.y.every((y) => y !== null && y >= 0 && y <= 1)).toBe(true);
      // A bar per epoch, each epoch having cost something; the total grows with them.
      const cost = byName.get('cost per epoch')!;
      expect(cost.type).toBe('bar');
      expect(cost.x).toEqual(epochs);
      expect(cost.y.every((usd) => usd !== null && usd > 0)).toBe(true);
      const total = byName.get('total cost')!.y as number[];
      expect(total).toEqual([...total].sort((a, b) => a - b));
      // The summary's total is the last point's.
      expect(text).toContain(`total ${byName.get('total cost')!.text.at(-1)}`);
      // Drawn in the SVG, with a text alternative.
      await page.waitForFunction(
        ([selector, n]) => document.querySelectorAll(`${selector} .barlayer .point path`).length >= n,
        [TRAINING, EPOCHS] as const,
      );
      expect(await page.locator(`${TRAINING} .jp-serverless-View-plot`).getAttribute('aria-label')).toMatch(
        /panel-mlp · allreduce · 2 workers: loss and accuracy per epoch/,
      );
      // One call: nothing to pick.
      const picker = page.locator(`${TRAINING} .jp-serverless-Training-picker`);
      expect(await picker.isHidden()).toBe(true);
      // With the traffic shown too, a 900 px high window leaves the chart less than its floor:
      // the other sections collapsed (as a user would), it has the panel and fits unscrolled.
      const others = ['Invocations', 'Gradient traffic', 'Cost'];
      await toggleSections(others);
      await page.waitForFunction((selector) => {
        const view = document.querySelector(selector) as HTMLElement;
        return view.scrollHeight <= view.clientHeight && view.querySelector('.js-plotly-plot') !== null;
      }, TRAINING);
      await screenshot('panel-training');

      // A second call: the newest is shown, and the picker offers both.
      await runCell(page, 12);
      await picker.waitFor({ state: 'visible' });
      await summary.filter({ hasText: /panel-mlp-sr · scatter-reduce · .*· epoch 4 of 4 ·/ }).waitFor();
      const select = picker.locator('select');
      const options = await select.locator('option').allTextContents();
      expect(options).toHaveLength(2);
      expect(options[0]).toMatch(/ panel-mlp-sr · scatter-reduce · 2 workers$/);
      expect(options[1]).toMatch(/ panel-mlp · allreduce · 2 workers$/);
      await screenshot('panel-training-two-calls');
      // Picking the first call shows it again.
      await select.selectOption({ label: options[1] });
      await summary.filter({ hasText: /panel-mlp · allreduce · / }).waitFor();
      expect(await summary.textContent()).toBe(text);
      await toggleSections(others);
      expect(recorded.errors).toEqual([]);
    },
    300_000,
  );

  it('draws the --tune chart and table in the cell, the chart as Plotly (not its text fallback), as wide as its output', async () => {
    const cell = await runCell(page, PLOTLY_OUTPUT_CELL);
    const output = cell.locator(
      '.jp-OutputArea-output[data-mime-type="application/vnd.plotly.v1+json"].jp-serverless-PlotlyOutput',
    );
    await output.locator('.js-plotly-plot .scatterlayer .trace').first().waitFor();
    // The table of the five sizes, the chart, and the pick; the chart's text fallback is not shown.
    expect(await cell.locator('.jp-serverless-Tune-table tbody tr').count()).toBe(
      PLOTLY_OUTPUT_LABELS.length,
    );
    expect(await cell.locator('.jp-serverless-Tune-table tr.jp-mod-picked td').first().textContent()).toBe(
      '→ 128 MB',
    );
    expect(
      await cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.plotly.v1+json"]').count(),
    ).toBe(1);
    expect(await cell.locator('.jp-OutputArea-output', { hasText: '(chart: run time' }).count()).toBe(0);
    expect(await cell.locator('.jp-OutputArea-output', { hasText: 'Use --memory 128' }).count()).toBe(1);
    expect(await output.locator('.jp-serverless-PlotlyOutput-error').isHidden()).toBe(true);
    // One marker and one label per size, over the measured, modelled and picked traces; the legend names the pick.
    expect(await output.locator('.scatterlayer .trace .points path.point').count()).toBe(
      PLOTLY_OUTPUT_LABELS.length,
    );
    expect((await output.locator('.scatterlayer .trace .textpoint').allTextContents()).sort()).toEqual(
      [...PLOTLY_OUTPUT_LABELS].sort(),
    );
    expect(await output.locator('.legendtext').allTextContents()).toContain('pick (cost)');
    expect(await output.locator('.gtitle').textContent()).toMatch(/^Run time against cost per memory size/);
    // The theme's transparent background, the output area's width (not Plotly's default 700 px).
    const first = await output.evaluate((node) => {
      const svg = node.querySelector('.js-plotly-plot .main-svg') as SVGSVGElement;
      return {
        svgWidth: svg.getBoundingClientRect().width,
        outputWidth: node.clientWidth,
        background: getComputedStyle(svg).backgroundColor,
      };
    });
    expect(first.background).toBe('rgba(0, 0, 0, 0)');
    expect(Math.abs(first.svgWidth - first.outputWidth)).toBeLessThanOrEqual(1);
    await cell.screenshot({ path: screenshotPath('plotly-output') });

    // The side panel opened or closed changes the output's width: the chart follows it.
    const panelTab = page.locator(
      '.jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id="jupyter-serverless-panel"]',
    );
    await panelTab.click();
    await page.waitForFunction(
      ([node, before]) => {
        const svg = node.querySelector('.js-plotly-plot .main-svg');
        return (
          node.clientWidth !== before &&
          svg !== null &&
          Math.abs(svg.getBoundingClientRect().width - node.clientWidth) <= 1
        );
      },
      [await output.elementHandle(), first.outputWidth] as const,
    );
    await panelTab.click();
    expect(recorded.errors).toEqual([]);
  }, 120_000);

  it('follows the dark theme', async () => {
    const hoverBackground = (): Promise<string> =>
      page.evaluate((selector) => {
        const plot = document.querySelector(`${selector} .jp-serverless-Timeline .js-plotly-plot`) as
          (Element & { layout?: { hoverlabel?: { bgcolor?: string } } }) | null;
        return String(plot?.layout?.hoverlabel?.bgcolor ?? '');
      }, PANEL);
    const light = await hoverBackground();
    await page.locator('#jp-menu-panel .lm-MenuBar-item', { hasText: 'Settings' }).click();
    await page.locator('.lm-Menu-item', { hasText: /^Theme$/ }).hover();
    await page.locator('.lm-Menu-item', { hasText: /^JupyterLab Dark$/ }).click();
    await page.waitForSelector('body[data-jp-theme-name="JupyterLab Dark"][data-jp-theme-light="false"]', {
      state: 'attached',
    });
    await page.waitForSelector('#jupyterlab-splash', { state: 'detached' });
    await openPanel(page);
    // The charts redraw in the dark theme's colors (its --jp-layout-color0 is #111).
    await page.waitForFunction(
      ([selector, before]) => {
        const plot = document.querySelector(`${selector} .jp-serverless-Timeline .js-plotly-plot`) as
          (Element & { layout?: { hoverlabel?: { bgcolor?: string } } }) | null;
        const now = String(plot?.layout?.hoverlabel?.bgcolor ?? '');
        return now !== before && /17, ?17, ?17|#111/.test(now);
      },
      [PANEL, light] as const,
    );
    await screenshot('panel-dark');
    expect(recorded.errors).toEqual([]);
  }, 120_000);

  it('draws a map on --backend lambda, its throttled Invokes as retried bars', async () => {
    await runCell(page, LAMBDA_CONFIG_CELL);
    const throttledBefore = throttler?.throttled ?? 0;
    throttler?.throttle({ share: 0.25 });
    try {
      const map = await runCell(page, LAMBDA_MAP_CELL);
      await map
        .locator('.jp-serverless-Progress', {
          hasText: new RegExp(`${LAMBDA_ELEMENTS}/${LAMBDA_ELEMENTS} done`),
        })
        .waitFor();
    } finally {
      throttler?.throttle({ share: 0 });
    }
    const throttled = (throttler?.throttled ?? 0) - throttledBefore;
    expect(throttled).toBeGreaterThan(0);
    await openPanel(page);
    // One retried invocation per Invoke the platform refused (each element retried after its 429), drawn
    // as bars of their own or within merged ones.
    await page.waitForFunction(retriedBarsCover, [PANEL, throttled] as const);
    // The timeline alone in the panel, as a user looking at the retries would have it.
    await toggleSections(['Gradient traffic', 'Training', 'Cost']);
    await waitForTimelineBars(page);
    await screenshot('panel-lambda-retried');
    expect(recorded.errors).toEqual([]);
  }, 180_000);
});
