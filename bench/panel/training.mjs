// bench/panel/training: the training view's work at 10 train() calls x 100 epochs (1,000
// training-epoch events), in Node (the extension's own code, bundled with esbuild), side by side
// with the reference in one run: JSON.parse of the same events, what the browser pays to receive
// them over the comm at all. Measured: the fold of the whole history (a replay), the fold of the
// same events one per fold (each epoch arriving on its own, the live case), and one redraw's data
// (trainingShape + trainingFigure) of the newest call and of a call of 10,000 epochs. Target: a
// redraw's data well under the 100 ms throttle window. Medians of `runs`.
// Usage: node bench/panel/training.mjs [runs=7]
import { loadTsModules } from '../lib/ts-modules.mjs';

const RUNS = Number(process.argv[2] ?? 7);
const m = await loadTsModules({
  'test/unit/extension-fixtures.ts': ['EventScript', 'trainingRun'],
  'extension/src/model/fold.ts': ['foldEvents', 'replayState'],
  'extension/src/model/state.ts': ['emptyState'],
  'extension/src/views/shaping/training.ts': ['trainingShape'],
  'extension/src/views/training-figure.ts': ['trainingFigure'],
  'extension/src/views/figure-theme.ts': ['figureTheme'],
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (fn) => {
  const t0 = performance.now();
  const value = fn();
  return [performance.now() - t0, value];
};
const theme = m.figureTheme(() => '#888');
const cases = [
  { label: '10 calls x 100 epochs', calls: 10, epochs: 100 },
  { label: '1 call x 10,000 epochs', calls: 1, epochs: 10_000 },
];
const rows = [];
for (const c of cases) {
  const script = new m.EventScript();
  for (let i = 0; i < c.calls; i += 1) {
    script.runStarted(`run-${i}`, { executionCount: i + 1 });
    m.trainingRun(script, `t${i}`, { epochs: c.epochs, runId: `run-${i}` });
  }
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
        for (const event of events) s = m.foldEvents(s, [event]);
        return s;
      })[0],
    );
    redraw.push(time(() => m.trainingFigure(m.trainingShape(state), theme))[0]);
  }
  rows.push({
    label: c.label,
    events: events.length,
    kb: text.length / 1e3,
    parse: median(parse),
    replay: median(replay),
    live: median(live),
    redraw: median(redraw),
  });
}
console.log(
  "| training | events | JSON kB | JSON.parse (reference) ms | replay fold ms | live fold (one event per fold) ms | one redraw's data ms |",
);
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.label} | ${r.events} | ${r.kb.toFixed(0)} | ${r.parse.toFixed(2)} | ${r.replay.toFixed(2)} | ${r.live.toFixed(2)} | ${r.redraw.toFixed(2)} |`,
  );
}
