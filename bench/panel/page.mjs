// bench/panel: the functions it runs in the page (through playwright's page.evaluate, which sends
// each function's source: they use only their arguments and the page's globals). `installProbe`
// first: it puts `window.panelBench` in place, which the others use.
/* global window, document, PerformanceObserver, requestAnimationFrame -- these run in the browser */

export function installProbe(prefix) {
  const bench = { draws: [], frames: [], ran: undefined };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.name.startsWith(prefix)) {
        const { renderMs, settledMs, plotted, draw } = entry.detail ?? {};
        const view = entry.name.slice(prefix.length);
        const start = entry.startTime;
        bench.draws.push({ view, start, ms: entry.duration, renderMs, settledMs, plotted, draw });
      }
    }
  }).observe({ type: 'measure' });
  // Frames over 50 ms, with the browser's rendering work (style, layout, paint) in them.
  new PerformanceObserver((list) => {
    for (const f of list.getEntries()) {
      bench.frames.push({ start: f.startTime, ms: f.duration, renderStart: f.renderStart });
    }
  }).observe({ type: 'long-animation-frame' });
  bench.panel = () =>
    [...window.jupyterapp.shell.widgets('right')].find((w) => w.id === 'jupyter-serverless-panel');
  bench.nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  // After the rendering of the current frame (a task queued in a frame callback runs after it).
  bench.afterRendering = () => new Promise((resolve) => setTimeout(resolve, 0));
  bench.view = (name) => ({ Timeline: bench.panel().timeline, Cost: bench.panel().cost })[name];
  window.panelBench = bench;
}

export function runCell(index) {
  const bench = window.panelBench;
  const notebook = window.jupyterapp.shell.currentWidget;
  notebook.content.activeCellIndex = index;
  bench.ran = undefined;
  bench.cellMs = null;
  const start = performance.now();
  window.jupyterapp.commands.execute('notebook:run-cell').then(
    (ok) => Object.assign(bench, { ran: ok === true, cellMs: performance.now() - start }),
    () => (bench.ran = false),
  );
}

/**
 * The cell ran (or the kernel is idle: a reply lost in a reconnection never resolves the cell's
 * promise), both summaries show `invocations` with no run going, every view drew it and recorded
 * the draw.
 */
export function settled([invocations, views]) {
  const bench = window.panelBench;
  const panel = bench.panel();
  const idle = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle';
  if ((bench.ran === undefined && !idle) || !panel) return false;
  const timeline = panel.timeline.node.querySelector('.jp-serverless-View-summary').textContent;
  const cost = panel.cost.node.querySelector('.jp-serverless-View-summary').textContent;
  if (!timeline.startsWith(`${invocations} invocations `) || /running|queued/.test(timeline)) return false;
  if (!cost.includes(`over ${invocations} invocations`)) return false;
  return views.every((name) => {
    const view = bench.view(name);
    return !view.isDirty && bench.draws.some((d) => d.view === name && d.draw === view.draws);
  });
}

/** One forced redraw of one view: until `Plotly.react` settled, and until the frame showing it was rendered. */
export async function redrawView([name, prefix]) {
  const bench = window.panelBench;
  const view = bench.view(name);
  view.invalidate();
  await bench.nextFrame(); // after the view's own frame callback (Lumino's, requested first): it drew
  await view.plotted;
  const [entry] = performance.getEntriesByName(prefix + name, 'measure').slice(-1);
  await bench.afterRendering();
  return { settledMs: entry.detail.settledMs, shownMs: performance.now() - entry.startTime };
}

/** Keeps the charts' current figures (JSON copies) for the reference. */
export function keepFigures() {
  const bench = window.panelBench;
  bench.figures = {};
  for (const name of ['Timeline', 'Cost']) {
    const gd = bench.view(name).node.querySelector('.js-plotly-plot');
    const { left, top, width, height } = gd.getBoundingClientRect();
    bench.figures[name] = {
      json: JSON.stringify({ data: gd.data, layout: gd.layout }),
      box: { left, top, width, height },
      traces: gd.data.map((t) => `${t.type}:${(t.x ?? []).length}`).join(' '),
    };
  }
  return Object.fromEntries(Object.entries(bench.figures).map(([k, f]) => [k, f.traces]));
}

/**
 * Draws a kept figure from scratch with Plotly.newPlot into a new div of its size laid over the
 * view's chart (so the browser paints it as it paints ours), as `redrawView` measures ours.
 */
export async function referenceDraw([name, config]) {
  const bench = window.panelBench;
  const Plotly = window.Plotly ?? window.moduleName;
  const figure = bench.figures[name];
  const { data, layout } = JSON.parse(figure.json);
  const { left, top, width, height } = figure.box;
  const div = document.createElement('div');
  div.style.cssText = `position: fixed; z-index: 10000; background: white; left: ${left}px; top: ${top}px; width: ${width}px; height: ${height}px`;
  document.body.appendChild(div);
  await bench.nextFrame();
  const start = performance.now();
  await Plotly.newPlot(div, data, layout, config);
  const settledMs = performance.now() - start;
  await bench.afterRendering();
  const shownMs = performance.now() - start;
  Plotly.purge(div);
  div.remove();
  return { settledMs, shownMs };
}
