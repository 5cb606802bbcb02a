/**
 * The fold of exchange-round events (protocol v3): per-round bins stacked by
 * worker, raw bytes for the compression ratio, edges of a star (leader
 * all-reduce), a mesh (scatter-reduce) and a parameter server; the bounds
 * (bins pair up, the oldest exchanges and edges beyond the limit go); a
 * replay giving the same state as live batches; and the fold's time at
 * 16 workers × 1,000 rounds.
 */
import { ExchangeDraft } from '../../extension/src/model/exchange-fold';
import { binCapacity, EXCHANGE_LIMITS, exchangeKey } from '../../extension/src/model/exchange-state';
import { foldEvents, replayState } from '../../extension/src/model/fold';
import { emptyState, ExchangeRecord, TelemetryState } from '../../extension/src/model/state';
import type { ExchangeRoundEvent, TelemetryEvent } from '../../extension/src/telemetry';
import { EventScript, exchangeRun, mapRun } from './extension-fixtures';

/** A state as plain JSON (maps as entry lists), to compare folds. */
function plain(state: TelemetryState): unknown {
  return JSON.parse(
    JSON.stringify(state, (_key, value: unknown) => (value instanceof Map ? [...value.entries()] : value)),
  );
}

function only(state: TelemetryState): ExchangeRecord {
  expect(state.exchanges.size).toBe(1);
  return [...state.exchanges.values()][0];
}

/** Folds `events` in batches of `size` (live), or of the sizes `size` returns in turn. */
function live(events: readonly TelemetryEvent[], size: number | (() => number)): TelemetryState {
  let state = emptyState();
  for (let i = 0; i < events.length;) {
    const n = typeof size === 'number' ? size : size();
    state = foldEvents(state, events.slice(i, i + n));
    i += n;
  }
  return state;
}

/** A deterministic batch size between 1 and 300. */
function batchSizes(seed = 7): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return 1 + (x % 300);
  };
}

describe('the exchange fold', () => {
  it('sums each round per worker, and each worker and the exchange over rounds', () => {
    const s = new EventScript();
    s.runStarted('r', { executionCount: 4 });
    exchangeRun(s, 'r', { workers: 3, rounds: 2, vectorBytes: 3000, requestUsd: 0.0000004 });
    const x = only(replayState(s.take()));
    expect(x).toMatchObject({
      key: exchangeKey('r', 'grads'),
      runId: 'r',
      exchange: 'grads',
      strategy: 'allreduce',
      codec: 'none',
      store: 'embedded',
      workerCount: 3,
      firstRound: 1,
      lastRound: 2,
      binWidth: 1,
      droppedLinks: 0,
    });
    expect(x.workers.map((w) => [w.id, w.rank])).toEqual([
      ['worker:0', 0],
      ['worker:1', 1],
      ['worker:2', 2],
    ]);
    expect(x.bins.map((b) => [b.start, b.firstRound, b.lastRound])).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    // The leader reads every other worker's vector; the others read the mean.
    expect(x.bins[0].bytesUp).toEqual([3000, 3000, 3000]);
    expect(x.bins[0].bytesDown).toEqual([6000, 3000, 3000]);
    expect(x.bins[0].parts).toEqual([1, 1, 1]);
    expect(x.bins[1].durationMs).toEqual([12, 13, 14]);
    expect(x.workers[0]).toMatchObject({ bytesUp: 6000, bytesDown: 12_000, parts: 2, requests: 4 });
    expect(x.totals).toMatchObject({
      bytesUp: 18_000,
      bytesDown: 24_000,
      rawBytes: 42_000,
      requests: 12,
      parts: 6,
      durationMs: 11 + 12 + 13 + 12 + 13 + 14,
    });
    // Storage summed in whole pico-dollars: 12 requests at $0.0000004.
    expect(x.totals.storagePico).toBe(4_800_000);
    expect(x.bins[1].storagePico).toEqual([800_000, 800_000, 800_000]);
  });

  it('keeps the raw bytes, so the ratio is raw over encoded', () => {
    const s = new EventScript();
    exchangeRun(s, 'r', { workers: 2, rounds: 3, ratio: 4, codec: 'topk:0.25' });
    const x = only(replayState(s.take()));
    expect(x.codec).toBe('topk:0.25');
    expect(x.totals.rawBytes).toBe(4 * (x.totals.bytesUp + x.totals.bytesDown));
    expect(x.bins[2].rawBytes[1]).toBe(4 * (x.bins[2].bytesUp[1] + x.bins[2].bytesDown[1]));
  });

  it('sums the edges a leader all-reduce uses: every worker to the leader (a star)', () => {
    const s = new EventScript();
    exchangeRun(s, 'r', { workers: 4, rounds: 5, vectorBytes: 100 });
    const x = only(replayState(s.take()));
    expect([...x.edges.values()]).toEqual([
      { worker: 'worker:0', node: 'worker:0', bytesUp: 500, bytesDown: 1500, parts: 5 },
      { worker: 'worker:1', node: 'worker:0', bytesUp: 500, bytesDown: 500, parts: 5 },
      { worker: 'worker:2', node: 'worker:0', bytesUp: 500, bytesDown: 500, parts: 5 },
      { worker: 'worker:3', node: 'worker:0', bytesUp: 500, bytesDown: 500, parts: 5 },
    ]);
  });

  it('sums the edges of a scatter-reduce (a mesh) and of a parameter server', () => {
    const s = new EventScript();
    exchangeRun(s, 'r', {
      exchange: 'mesh',
      workers: 4,
      rounds: 2,
      strategy: 'scatter-reduce',
      vectorBytes: 400,
    });
    exchangeRun(s, 'r', { exchange: 'ps', workers: 3, rounds: 2, strategy: 'parameter-server', shards: 2 });
    const state = replayState(s.take());
    const mesh = state.exchanges.get(exchangeKey('r', 'mesh'))!;
    expect(mesh.edges.size).toBe(16);
    expect(mesh.edges.get('worker:1\u0000worker:3')).toEqual({
      worker: 'worker:1',
      node: 'worker:3',
      bytesUp: 200,
      bytesDown: 200,
      parts: 2,
    });
    const ps = state.exchanges.get(exchangeKey('r', 'ps'))!;
    expect([...ps.edges.keys()].sort()).toEqual(
      ['0', '1', '2'].flatMap((w) => [`worker:${w}\u0000ps:0`, `worker:${w}\u0000ps:1`]).sort(),
    );
  });

  it('puts rounds that arrive out of order in their place', () => {
    const s = new EventScript();
    s.exchange('r', 5, { rank: 1, workers: 2 }).exchange('r', 3, { rank: 0, workers: 2 });
    s.exchange('r', 4, { rank: 0, workers: 2 }).exchange('r', 5, { rank: 0, workers: 2 });
    const x = only(replayState(s.take()));
    expect(x.bins.map((b) => b.start)).toEqual([3, 4, 5]);
    expect(x.bins[2].parts).toEqual([1, 1]);
    // Worker 1 was seen first: column 0.
    expect(x.workers.map((w) => w.id)).toEqual(['worker:1', 'worker:0']);
    expect(x.bins[0].parts).toEqual([0, 1]);
    expect([x.firstRound, x.lastRound]).toEqual([3, 5]);
  });

  it('never changes a state it was given, and shares the exchanges a batch did not touch', () => {
    const s = new EventScript();
    exchangeRun(s, 'r', { exchange: 'a', workers: 2, rounds: 3 });
    exchangeRun(s, 'r', { exchange: 'b', workers: 2, rounds: 3 });
    const before = replayState(s.take());
    const snapshot = plain(before);
    exchangeRun(s, 'r', { exchange: 'b', workers: 2, rounds: 1, firstRound: 4 });
    const after = foldEvents(before, s.take());
    expect(plain(before)).toEqual(snapshot);
    const [a0, b0] = [...before.exchanges.values()];
    const [a1, b1] = [...after.exchanges.values()];
    expect(a1).toBe(a0);
    expect(b1).not.toBe(b0);
    // Bins of earlier rounds are shared; the new round's is new.
    expect(b1.bins.slice(0, 3).every((bin, i) => bin === b0.bins[i])).toBe(true);
    expect(b1.bins).toHaveLength(4);
  });
});

describe('the exchange fold, bounded', () => {
  it('pairs neighbouring rounds up beyond the bin limit, keeping every sum', () => {
    const s = new EventScript();
    exchangeRun(s, 'r', { workers: 8, rounds: 3000, strategy: 'scatter-reduce', vectorBytes: 800 });
    const events = s.take();
    const x = only(replayState(events));
    // 3,000 rounds from 1: bins of 4 rounds, [0, 4) to [2996, 3000).
    expect(binCapacity(8)).toBe(EXCHANGE_LIMITS.maxBins);
    expect(x.binWidth).toBe(4);
    expect(x.bins).toHaveLength(751);
    expect(x.bins[0]).toMatchObject({ start: 0, firstRound: 1, lastRound: 3 });
    expect(x.bins[1]).toMatchObject({ start: 4, firstRound: 4, lastRound: 7 });
    expect(x.bins[1].parts).toEqual(new Array(8).fill(4));
    const sum = (f: (b: ExchangeRecord['bins'][number]) => readonly number[]) =>
      x.bins.reduce((total, b) => total + f(b).reduce((a, v) => a + v, 0), 0);
    expect(sum((b) => b.bytesUp)).toBe(x.totals.bytesUp);
    expect(sum((b) => b.bytesDown)).toBe(x.totals.bytesDown);
    expect(sum((b) => b.parts)).toBe(24_000);
    // Edges stay one per (worker, node): 8 × 8.
    expect(x.edges.size).toBe(64);
  });

  it('keeps fewer bins when there are many workers', () => {
    expect(binCapacity(128)).toBe(512);
    expect(binCapacity(100_000)).toBe(EXCHANGE_LIMITS.minBins);
    const s = new EventScript();
    exchangeRun(s, 'r', { workers: 128, rounds: 520, vectorBytes: 128 });
    const x = only(replayState(s.take()));
    expect(x.bins.length).toBeLessThanOrEqual(512);
    expect(x.binWidth).toBe(2);
  });

  it('drops the oldest exchange beyond the limit', () => {
    const s = new EventScript();
    for (let i = 0; i < EXCHANGE_LIMITS.maxExchanges + 3; i++) {
      s.exchange(`run-${i}`, 1);
    }
    const state = replayState(s.take());
    expect(state.exchanges.size).toBe(EXCHANGE_LIMITS.maxExchanges);
    expect(state.droppedExchanges).toBe(3);
    expect(state.exchanges.has(exchangeKey('run-2', 'grads'))).toBe(false);
    expect(state.exchanges.has(exchangeKey('run-3', 'grads'))).toBe(true);
  });

  it('counts the links of edges beyond the edge limit instead of keeping them', () => {
    const limits = { ...EXCHANGE_LIMITS, maxEdges: 3 };
    const draft = new ExchangeDraft(new Map(), 0, limits);
    const s = new EventScript();
    exchangeRun(s, 'r', { workers: 2, rounds: 2, strategy: 'scatter-reduce' });
    for (const e of s.take()) {
      draft.apply(e as ExchangeRoundEvent);
    }
    const x = [...draft.exchanges.values()][0];
    expect([...x.edges.keys()]).toEqual([
      'worker:0\u0000worker:0',
      'worker:0\u0000worker:1',
      'worker:1\u0000worker:0',
    ]);
    // worker:1 -> worker:1, in both rounds.
    expect(x.droppedLinks).toBe(2);
  });
});

describe('the exchange fold, replayed and live', () => {
  it('gives the same state from a replay as from live batches, whatever their sizes', () => {
    const s = new EventScript();
    mapRun(s, 'warmup', 20, 4);
    s.runStarted('train', { executionCount: 8 });
    exchangeRun(s, 'train', { workers: 16, rounds: 1100, strategy: 'scatter-reduce', ratio: 2 });
    exchangeRun(s, 'train', { exchange: 'ps', workers: 4, rounds: 50, strategy: 'parameter-server' });
    const events = s.take();
    const replayed = plain(replayState(events));
    expect(plain(live(events, 100))).toEqual(replayed);
    expect(plain(live(events, batchSizes()))).toEqual(replayed);
    expect(plain(live(events, 1))).toEqual(replayed);
  });

  it('folds 16 workers × 1,000 rounds (16,000 events) in well under 250 ms, keeping a fraction of them', () => {
    for (const strategy of ['allreduce', 'scatter-reduce'] as const) {
      const s = new EventScript();
      s.runStarted('big');
      exchangeRun(s, 'big', { workers: 16, rounds: 1000, strategy, ratio: 2 });
      const events = s.take();
      expect(events).toHaveLength(16_001);
      const state = replayState(events);
      const x = only(state);
      expect(x.bins).toHaveLength(1000);
      expect(x.totals.parts).toBe(16_000);
      // Live, as the model folds: batches of what arrived in a throttle window.
      const batched = live(events, 200);
      expect(batched.lastSeq).toBe(state.lastSeq);
      // What the state keeps (no links, no strings per event) is a fraction of the events it folded.
      const kept = JSON.stringify(plain(state)).length / JSON.stringify(events).length;
      expect(kept).toBeLessThan(strategy === 'allreduce' ? 0.15 : 0.05);
    }
  });
});
