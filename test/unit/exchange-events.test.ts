/**
 * What the kernel does with exchange events from invocations: rounds reach
 * the accounting as sent, malformed events are ignored with one note, and a
 * straggler report replaces the slow rank's invocation once per round.
 */
import type { InvocationRequest } from '../../kernel-magics/src/runtime/backend';
import { ExchangeWatch, WorkerRound } from '../../kernel-magics/src/run/exchange-events';

const request = (id: string): InvocationRequest => ({ id }) as InvocationRequest;

const ROUND: WorkerRound = {
  exchange: 'grads',
  round: 3,
  workerId: 'worker:1',
  rank: 1,
  workers: 4,
  strategy: 'scatter-reduce',
  codec: 'topk:0.01',
  store: 'redis',
  bytesUp: 100,
  bytesDown: 200,
  rawBytes: 4000,
  requests: { put: 4, get: 4, list: 1, delete: 0 },
  durationMs: 2.5,
  links: [{ node: 'worker:0', bytesUp: 25, bytesDown: 50 }],
};

function watch() {
  const rounds: [string, WorkerRound][] = [];
  const replaced: [string, string][] = [];
  const notes: string[] = [];
  const billed: [string, string, unknown][] = [];
  let running = new Set(['inv-a', 'inv-b']);
  const w = new ExchangeWatch({
    round: (req, round) => rounds.push([req.id, round]),
    requests: (req, store, requests) => billed.push([req.id, store, requests]),
    replace: (id, why) => {
      replaced.push([id, why]);
      return running.has(id);
    },
    note: (text) => notes.push(text),
  });
  return {
    w,
    rounds,
    replaced,
    notes,
    billed,
    stop: (id: string) => (running = new Set([...running].filter((x) => x !== id))),
  };
}

describe('ExchangeWatch', () => {
  it('passes a worker round on with the invocation it came from', () => {
    const { w, rounds, notes } = watch();
    w.onEvent(request('inv-a'), { type: 'exchange-round', data: { ...ROUND, links: [...ROUND.links] } });
    expect(rounds).toEqual([['inv-a', ROUND]]);
    expect(notes).toEqual([]);
  });

  it("passes a body's model-store requests on to be billed", () => {
    const { w, billed, notes } = watch();
    w.onEvent(request('inv-a'), {
      type: 'store-requests',
      data: { store: 's3', put: 3, get: 1, list: 2, delete: 0 },
    });
    w.onEvent(request('inv-a'), {
      type: 'store-requests',
      data: { store: 's3', put: -3, get: 1, list: 2, delete: 0 },
    });
    expect(billed).toEqual([['inv-a', 's3', { put: 3, get: 1, list: 2, delete: 0 }]]);
    expect(notes).toHaveLength(1);
  });

  it('ignores malformed exchange events, saying so once, and events of other kinds silently', () => {
    const { w, rounds, notes } = watch();
    w.onEvent(request('inv-a'), { type: 'exchange-round', data: { ...ROUND, bytesUp: -1 } });
    w.onEvent(request('inv-a'), { type: 'exchange-round', data: { ...ROUND, strategy: 'gossip' } });
    w.onEvent(request('inv-a'), { type: 'training-epoch', data: { epoch: 1 } });
    expect(rounds).toEqual([]);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/unexpected fields was ignored/);
  });

  it('replaces the invocation of each rank a worker waits for, once per round, and notes it in the cell', () => {
    const { w, replaced, notes } = watch();
    w.onEvent(request('inv-a'), { type: 'exchange-open', data: { exchange: 'grads', rank: 0, workers: 4 } });
    w.onEvent(request('inv-b'), { type: 'exchange-open', data: { exchange: 'grads', rank: 1, workers: 4 } });
    const straggler = {
      type: 'exchange-straggler',
      data: { exchange: 'grads', round: 5, ranks: [1, 2], rank: 0 },
    };
    w.onEvent(request('inv-a'), straggler);
    // Reported again by another worker for the same round: not replaced twice.
    w.onEvent(request('inv-c'), straggler);
    expect(replaced).toEqual([['inv-b', "worker 1 of exchange 'grads' held up round 5"]]);
    expect(notes).toEqual([
      "%%serverless: worker 1 of exchange 'grads' held up round 5; its invocation was replaced (it runs again, from its last round).\n",
    ]);
    // A later round may replace it again; rank 2 never joined, so nothing is known to replace.
    w.onEvent(request('inv-a'), { ...straggler, data: { ...straggler.data, round: 6 } });
    expect(replaced).toHaveLength(2);
  });

  it('says nothing when the slow invocation was not running any more', () => {
    const { w, replaced, notes, stop } = watch();
    w.onEvent(request('inv-b'), { type: 'exchange-open', data: { exchange: 'grads', rank: 1, workers: 4 } });
    stop('inv-b');
    w.onEvent(request('inv-a'), {
      type: 'exchange-straggler',
      data: { exchange: 'grads', round: 1, ranks: [1], rank: 0 },
    });
    expect(replaced).toHaveLength(1);
    expect(notes).toEqual([]);
  });
});
