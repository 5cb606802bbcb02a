/**
 * The collectives over a real embedded store (temporary directories), with
 * W workers run concurrently in this process: exact means for every
 * strategy with `none` (bit for bit, the reduction the exchange defines),
 * fp16 within its stated error, top-k with error feedback (the sum of the
 * decoded means is the sum of the exact means minus the outstanding
 * residuals), the round telemetry, a million-float round and top-k's
 * compression ratio.
 */
import { ExchangeStrategy } from '../../kernel-magics/src/telemetry/protocol/events';
import { ExchangeOptions } from '../../kernel-magics/src/exchange';
import { FeedbackState } from '../../kernel-magics/src/exchange/collectives/feedback';
import { ExchangeKeys } from '../../kernel-magics/src/exchange/collectives/keys';
import { shardBounds } from '../../kernel-magics/src/exchange/collectives/reduce';
import {
  allWorkers,
  integersOf,
  referenceMean,
  sameBits,
  step,
  TempStore,
  vectorOf,
} from './exchange-fixtures';
import { CountingStore } from '../helpers/counting-store';

const STRATEGIES: ExchangeStrategy[] = ['allreduce', 'scatter-reduce', 'parameter-server'];

/** Runs `rounds` rounds on W workers; resolves to means[rank][round]. */
async function runRounds(
  t: TempStore,
  options: Omit<ExchangeOptions, 'rank' | 'store'> & { strategy: ExchangeStrategy; separate?: boolean },
  rounds: number,
  vector: (rank: number, round: number) => Float32Array,
): Promise<Float32Array[][]> {
  return allWorkers(options.workers, async (rank) => {
    const ex = await t.open({ ...options, rank });
    const means: Float32Array[] = [];
    for (let round = 0; round < rounds; round += 1) {
      means.push(await step(ex, options.strategy, vector(rank, round), round));
    }
    await ex.close();
    return means;
  });
}

let t: TempStore;
beforeEach(() => {
  t = new TempStore();
});
afterEach(async () => {
  await t.dispose();
});

describe.each(STRATEGIES)('%s', (strategy) => {
  test.each([2, 4, 8])(
    'codec none, %i workers, an odd length: the defined float32 mean, bit for bit, on every worker',
    async (workers) => {
      const n = 1001;
      const rounds = 3;
      const vector = (rank: number, round: number): Float32Array => vectorOf(n, rank, round);
      const means = await runRounds(t, { run: `exact-${workers}`, workers, strategy }, rounds, vector);
      for (let round = 0; round < rounds; round += 1) {
        const expected = referenceMean(Array.from({ length: workers }, (_, rank) => vector(rank, round)));
        for (let rank = 0; rank < workers; rank += 1) {
          expect(sameBits(means[rank][round], expected)).toBe(true);
        }
      }
    },
  );

  test('the store keeps one mean a round (and shard): contributions are removed once reduced', async () => {
    const workers = 4;
    await runRounds(t, { run: 'tidy', workers, strategy }, 3, (rank, round) => vectorOf(50, rank, round));
    const keys = await t.store.list('exchange/test-run/tidy/');
    expect(keys.filter((key) => /\/from-\d+$/.test(key))).toEqual([]);
    const means = keys.filter((key) => /\/mean(\/\d+)?$/.test(key));
    expect(means).toHaveLength(3 * (strategy === 'allreduce' ? 1 : 4));
  });

  test.each([2, 4])(
    '%i workers: keptBytes, summed over the workers, is every byte the rounds leave in the store',
    async (workers) => {
      const run = `kept-${workers}`;
      const kept = await allWorkers(workers, async (rank) => {
        const ex = await t.open({ run, rank, workers, strategy });
        for (let round = 0; round < 3; round += 1) {
          await step(ex, strategy, vectorOf(50, rank, round), round);
        }
        await ex.close();
        return ex.keptBytes;
      });
      const keys = await t.store.list(`exchange/test-run/${run}/`);
      const bodies = await Promise.all(keys.map((key) => t.store.get(key)));
      const stored = bodies.reduce((sum, body) => sum + (body?.byteLength ?? 0), 0);
      // Three rounds of 50 floats (codec none) kept once, or twice by a pair.
      expect(stored).toBe(3 * 50 * 4 * (strategy === 'allreduce' && workers === 2 ? 2 : 1));
      expect(kept.reduce((sum, bytes) => sum + bytes, 0)).toBe(stored);
    },
  );

  test("over a store that cannot read ranges (one of the user's making): exact, each piece an object of its own", async () => {
    const workers = 4;
    const rangeless = new CountingStore(t.store, { ranges: false });
    const means = await allWorkers(workers, async (rank) => {
      const ex = await t.open({ run: 'rangeless', rank, workers, strategy, store: rangeless });
      const got = [await step(ex, strategy, vectorOf(1001, rank, 0), 0)];
      await ex.close();
      return got;
    });
    const expected = referenceMean(Array.from({ length: workers }, (_, rank) => vectorOf(1001, rank, 0)));
    for (let rank = 0; rank < workers; rank += 1) {
      expect(sameBits(means[rank][0], expected)).toBe(true);
    }
    expect(rangeless.count('getRange')).toBe(0);
    if (strategy === 'scatter-reduce') {
      expect(rangeless.count('put', /\/sr\/0\/\d+\/from-\d+$/)).toBe(workers * (workers - 1));
    }
    if (strategy === 'parameter-server') {
      // Four shards (the default with four workers), one object each per worker.
      expect(rangeless.count('put', /\/ps\/0\/\d+\/from-\d+$/)).toBe(workers * 4);
    }
  });

  test('codec none on small integers: the float64 mean, tolerance 0', async () => {
    const workers = 4;
    const n = 37;
    const means = await runRounds(t, { run: 'ints', workers, strategy }, 2, (rank, round) =>
      integersOf(n, rank, round),
    );
    for (let round = 0; round < 2; round += 1) {
      const expected = Array.from({ length: n }, (_, i) => {
        let sum = 0;
        for (let rank = 0; rank < workers; rank += 1) sum += integersOf(n, rank, round)[i];
        return Math.fround(sum / workers);
      });
      for (let rank = 0; rank < workers; rank += 1) {
        expect(Array.from(means[rank][round])).toEqual(expected);
      }
    }
  });

  test.each([2, 4])(
    'codec fp16, %i workers: within 2^-11 of the mean of |x| plus 2^-11 of |mean|, the same on every worker',
    async (workers) => {
      const n = 999;
      const vector = (rank: number, round: number): Float32Array => vectorOf(n, rank, round, 3);
      const means = await runRounds(t, { run: 'fp16', workers, strategy, codec: 'fp16' }, 2, vector);
      for (let round = 0; round < 2; round += 1) {
        const vs = Array.from({ length: workers }, (_, rank) => vector(rank, round));
        let worst = 0;
        let anyError = false;
        for (let i = 0; i < n; i += 1) {
          const exact = vs.reduce((s, v) => s + v[i], 0) / workers;
          const meanAbs = vs.reduce((s, v) => s + Math.abs(v[i]), 0) / workers;
          const got = means[0][round][i];
          // Codec bounds (up and down), float32 sums, and the subnormal floor.
          const bound = 2 ** -11 * meanAbs + 2 ** -11 * Math.abs(exact) + 2 ** -20 * meanAbs + 2 ** -24;
          worst = Math.max(worst, Math.abs(got - exact) / bound);
          anyError ||= got !== Math.fround(exact);
        }
        expect(worst).toBeLessThanOrEqual(1);
        expect(anyError).toBe(true); // the codec did round
        for (let rank = 1; rank < workers; rank += 1) {
          expect(sameBits(means[rank][round], means[0][round])).toBe(true);
        }
      }
    },
  );

  test.each([2, 4])(
    'codec topk:0.05 with error feedback, %i workers: sum of decoded means = sum of exact means - residuals',
    async (workers) => {
      const n = 1003;
      const rounds = 6;
      const run = 'topk';
      const vector = (rank: number, round: number): Float32Array => vectorOf(n, rank, round, 5);
      const means = await runRounds(t, { run, workers, strategy, codec: 'topk:0.05' }, rounds, vector);
      // Every worker got the same bits each round.
      for (let round = 0; round < rounds; round += 1) {
        for (let rank = 1; rank < workers; rank += 1) {
          expect(sameBits(means[rank][round], means[0][round])).toBe(true);
        }
      }
      // The residuals the workers saved on close.
      const keys = new ExchangeKeys('test-run', run);
      const states = await Promise.all(
        Array.from({ length: workers }, async (_, rank) => {
          const bytes = await t.store.get(keys.state(rank));
          expect(bytes).toBeDefined();
          return FeedbackState.parse(bytes as Uint8Array, 'test');
        }),
      );
      const downlink = new Float64Array(n);
      if (strategy === 'allreduce') {
        downlink.set(states[0].slots.get('down:ar')?.residual ?? []);
        if (workers === 2) {
          // Both workers take the mean, each with the leader's residual: the two evolved the same.
          const [first, second] = states.map((state) => state.slots.get('down:ar')?.residual);
          expect(first).toHaveLength(n);
          expect(sameBits(second as Float32Array, first as Float32Array)).toBe(true);
        }
      } else {
        const parts = strategy === 'scatter-reduce' ? workers : Math.min(workers, 4);
        shardBounds(n, parts).forEach(([start], j) => {
          const name = strategy === 'scatter-reduce' ? 'down:sr' : `down:ps:${j}`;
          const residual = states[j % workers].slots.get(name)?.residual;
          expect(residual).toBeDefined();
          downlink.set(residual as Float32Array, start);
        });
      }
      const vectors = Array.from({ length: rounds }, (_, round) =>
        Array.from({ length: workers }, (_, rank) => vector(rank, round)),
      );
      const uplinks = states.map((state) => state.slots.get('up')?.residual ?? new Float32Array(n).fill(NaN));
      let worst = 0;
      let residualSize = 0;
      for (let i = 0; i < n; i += 1) {
        let decoded = 0;
        let exact = 0;
        for (let round = 0; round < rounds; round += 1) {
          decoded += means[0][round][i];
          for (let rank = 0; rank < workers; rank += 1) exact += vectors[round][rank][i] / workers;
        }
        let uplink = 0;
        for (let rank = 0; rank < workers; rank += 1) uplink += uplinks[rank][i] / workers;
        worst = Math.max(worst, Math.abs(decoded - (exact - uplink - downlink[i])));
        residualSize = Math.max(residualSize, Math.abs(uplink + downlink[i]));
      }
      expect(worst).toBeLessThan(1e-4); // float32 rounding only
      expect(residualSize).toBeGreaterThan(1); // and the residuals matter: without them it would not hold
    },
  );
});

test('workers on separate store instances of one directory (as separate processes) agree exactly', async () => {
  const workers = 4;
  const n = 513;
  const vector = (rank: number, round: number): Float32Array => vectorOf(n, rank, round, 9);
  for (const strategy of STRATEGIES) {
    const means = await runRounds(
      t,
      { run: `separate-${strategy}`, workers, strategy, separate: true },
      2,
      vector,
    );
    for (let round = 0; round < 2; round += 1) {
      const expected = referenceMean(Array.from({ length: workers }, (_, rank) => vector(rank, round)));
      for (let rank = 0; rank < workers; rank += 1) {
        expect(sameBits(means[rank][round], expected)).toBe(true);
      }
    }
  }
});

describe('exchange-round telemetry', () => {
  const FIELDS = [
    'bytesDown',
    'bytesUp',
    'codec',
    'durationMs',
    'exchange',
    'links',
    'rank',
    'rawBytes',
    'requests',
    'round',
    'store',
    'strategy',
    'workerId',
    'workers',
  ];

  test.each(STRATEGIES)(
    '%s: one event per worker and round, links that add up, raw bytes = bytes with none',
    async (strategy) => {
      const workers = 4;
      const n = 1000;
      await runRounds(t, { run: 'telemetry', workers, strategy }, 2, (rank, round) =>
        vectorOf(n, rank, round),
      );
      const events = t.ofType('exchange-round');
      expect(events).toHaveLength(workers * 2);
      const expectedNodes = (rank: number): string[] =>
        strategy === 'allreduce'
          ? ['worker:0']
          : strategy === 'scatter-reduce'
            ? Array.from({ length: workers }, (_, j) => `worker:${j}`)
            : Array.from({ length: 4 }, (_, s) => `ps:${s}`).concat(rank < 0 ? [] : []);
      for (const event of events) {
        expect(Object.keys(event).sort()).toEqual(FIELDS);
        const rank = event.rank as number;
        expect(event).toMatchObject({
          exchange: 'telemetry',
          workerId: `worker:${rank}`,
          workers,
          strategy,
          codec: 'none',
          store: 'embedded',
        });
        expect(Object.keys(event.requests as object).sort()).toEqual(['delete', 'get', 'list', 'put']);
        const links = event.links as Array<{ node: string; bytesUp: number; bytesDown: number }>;
        expect(links.map((l) => l.node).sort()).toEqual(expectedNodes(rank).sort());
        expect(links.reduce((s, l) => s + l.bytesUp, 0)).toBe(event.bytesUp);
        expect(links.reduce((s, l) => s + l.bytesDown, 0)).toBe(event.bytesDown);
        expect(event.rawBytes).toBe((event.bytesUp as number) + (event.bytesDown as number));
        expect(event.durationMs).toBeGreaterThan(0);
      }
      // What each worker moves, in floats: the shape of each strategy.
      const byRank = (rank: number) =>
        events.find((e) => e.rank === rank && e.round === 1) as { [k: string]: number };
      if (strategy === 'allreduce') {
        expect(byRank(1).bytesUp).toBe(4 * n);
        expect(byRank(1).bytesDown).toBe(4 * n);
        expect(byRank(0).bytesUp).toBe(4 * n);
        expect(byRank(0).bytesDown).toBe(4 * n * (workers - 1));
      } else if (strategy === 'scatter-reduce') {
        // Three parts of a quarter up, then one mean of a quarter up; three parts and three means down.
        expect(byRank(2).bytesUp).toBe(4 * n);
        expect(byRank(2).bytesDown).toBe(4 * (n / 4) * 6);
      } else {
        expect(byRank(3).bytesUp).toBeGreaterThanOrEqual(4 * n);
        expect(byRank(3).bytesDown).toBeGreaterThanOrEqual(4 * n);
      }
    },
  );

  test('allreduce requests: a worker puts once; the leader publishes once and removes what it read', async () => {
    await runRounds(t, { run: 'requests', workers: 3, strategy: 'allreduce' }, 2, (rank, round) =>
      vectorOf(10, rank, round),
    );
    for (const event of t.ofType('exchange-round')) {
      const requests = event.requests as { put: number; get: number; list: number; delete: number };
      expect(requests.put).toBe(1);
      expect(requests.delete).toBe(event.rank === 0 ? 2 : 0);
      expect(requests.get).toBeGreaterThanOrEqual(event.rank === 0 ? 2 : 1);
    }
  });

  test("allreduce between two workers: each puts its vector once and reads the other's; no mean is published", async () => {
    const n = 10;
    await runRounds(t, { run: 'pair', workers: 2, strategy: 'allreduce' }, 3, (rank, round) =>
      vectorOf(n, rank, round),
    );
    const events = t.ofType('exchange-round').filter((e) => e.exchange === 'pair');
    expect(events).toHaveLength(6);
    for (const event of events) {
      const requests = event.requests as { put: number; get: number; list: number; delete: number };
      expect(requests.put).toBe(1);
      expect(requests.delete).toBe(0);
      expect(requests.list).toBe(0);
      expect(event.bytesUp).toBe(4 * n);
      expect(event.bytesDown).toBe(4 * n);
      expect(event.links).toEqual([{ node: 'worker:0', bytesUp: 4 * n, bytesDown: 4 * n }]);
    }
    // Both vectors of every round stay for replays, as a leader's means do; nothing else is written.
    const keys = (await t.store.list('exchange/')).filter((key) => key.includes('/pair/ar/'));
    expect(keys.map((key) => key.replace(/^.*\/pair\//, '')).sort()).toEqual(
      [0, 1, 2].flatMap((round) => [`ar/${round}/from-0`, `ar/${round}/from-1`]),
    );
  });
});

describe('a million floats, 8 workers', () => {
  const workers = 8;
  const n = 1_000_000;

  test('allreduce with none is exact; top-k 1% moves at least 50x fewer bytes than none in a round', async () => {
    const vector = (rank: number): Float32Array => vectorOf(n, rank, 0, 11);
    const exact = await runRounds(t, { run: 'big-none', workers, strategy: 'allreduce' }, 1, vector);
    const expected = referenceMean(Array.from({ length: workers }, (_, rank) => vector(rank)));
    for (let rank = 0; rank < workers; rank += 1) {
      expect(sameBits(exact[rank][0], expected)).toBe(true);
    }
    await runRounds(t, { run: 'big-topk', workers, strategy: 'allreduce', codec: 'topk:0.01' }, 1, vector);
    const bytes = (run: string): number =>
      t
        .ofType('exchange-round')
        .filter((e) => e.exchange === run)
        .reduce((s, e) => s + (e.bytesUp as number) + (e.bytesDown as number), 0);
    const ratio = bytes('big-none') / bytes('big-topk');
    expect(ratio).toBeGreaterThanOrEqual(50);
    // rawBytes says the same on its own.
    const topk = t.ofType('exchange-round').filter((e) => e.exchange === 'big-topk');
    const raw = topk.reduce((s, e) => s + (e.rawBytes as number), 0);
    expect(raw).toBe(bytes('big-none'));
  });

  test.each(['scatter-reduce', 'parameter-server'] as ExchangeStrategy[])(
    '%s: top-k 1% at least 50x fewer bytes than none',
    async (strategy) => {
      const vector = (rank: number): Float32Array => vectorOf(n, rank, 0, 13);
      await runRounds(t, { run: 'big-none', workers, strategy }, 1, vector);
      await runRounds(t, { run: 'big-topk', workers, strategy, codec: 'topk:0.01' }, 1, vector);
      const bytes = (run: string): number =>
        t
          .ofType('exchange-round')
          .filter((e) => e.exchange === run)
          .reduce((s, e) => s + (e.bytesUp as number) + (e.bytesDown as number), 0);
      expect(bytes('big-none') / bytes('big-topk')).toBeGreaterThanOrEqual(50);
    },
  );
});
