// bench/panel/traffic: the gradient-traffic view's work at 16 workers x 1,000 rounds (16,000
// exchange-round events), in Node (the extension's own code, bundled with esbuild), side by side
// with the reference in one run: JSON.parse of the same events, what the browser pays to receive
// them over the comm at all. Measured: the fold of the whole history (a replay), the fold of the
// same events in live batches of 200 (what arrives in a 100 ms throttle window at a fast pace),
// and one redraw's data (trafficShape + trafficFigure); for scatter-reduce (a mesh) and allreduce
// (a star). Target: a redraw's data well under the 100 ms throttle window. Medians of `runs`.
// Usage: node bench/panel/traffic.mjs [runs=7]
import { loadTsModules } from '../lib/ts-modules.mjs';

const RUNS = Number(process.argv[2] ?? 7);
const m = await loadTsModules({
  'test/unit/extension-fixtures.ts': ['EventScript', 'exchangeRun'],
  'extension/src/model/fold.ts': ['foldEvents', 'replayState'],
  'extension/src/model/state.ts': ['emptyState'],
  'extension/src/views/shaping/traffic.ts': ['trafficShape'],
  'extension/src/views/traffic-figure.ts': ['trafficFigure'],
  'extension/src/views/figure-theme.ts': ['figureTheme'],
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (fn) => {
  const t0 = performance.now();
  const value = fn();
  return [performance.now() - t0, value];
};
const theme = m.figureTheme(() => '#888');
const rows = [];
for (const strategy of ['scatter-reduce', 'allreduce']) {
  const script = new m.EventScript();
  script.runStarted('big', { executionCount: 1 });
  m.exchangeRun(script, 'big', { workers: 16, rounds: 1000, strategy, ratio: 40 });
  const events = script.take();
  const text = JSON.stringify(events);
  const parse = [];
  const replay = [];
  const live = [];
  const redraw = [];
  let state;
  for (let run = 0; run < RUNS; run += 1) {
    parse.push(time(() => JSON.parse(text))[0]);
    [replay[run], state] = time(() => m.replayState(events));
    live.push(
      time(() => {
        let s = m.emptyState();
        for (let i = 0; i < events.length; i += 200) s = m.foldEvents(s, events.slice(i, i + 200));
        return s;
      })[0],
    );
    redraw.push(time(() => m.trafficFigure(m.trafficShape(state), theme))[0]);
  }
  rows.push({
    strategy,
    events: events.length,
    mb: text.length / 1e6,
    parse: median(parse),
    replay: median(replay),
    live: median(live),
    redraw: median(redraw),
  });
}
console.log(
  "| exchange (16 workers x 1,000 rounds) | events | JSON MB | JSON.parse (reference) ms | replay fold ms | live fold (batches of 200) ms | one redraw's data ms | replay / parse |",
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.strategy} | ${r.events} | ${r.mb.toFixed(1)} | ${r.parse.toFixed(1)} | ${r.replay.toFixed(1)} | ${r.live.toFixed(1)} | ${r.redraw.toFixed(1)} | ${(r.replay / r.parse).toFixed(2)} |`,
  );
}
