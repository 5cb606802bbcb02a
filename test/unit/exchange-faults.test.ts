/**
 * The exchange when things go wrong: a worker that crashes mid-round and is
 * restarted from that round (results exact, rounds never applied twice),
 * contributions sent again to reduced rounds, a parameter-server reducer
 * that dies (taken over), timeouts that name the missing workers, aborts
 * that stop waits at once, straggler events, mismatched vectors and bad
 * options.
 */
import {
  ExchangeConfigError,
  ExchangeError,
  ExchangeMismatchError,
  ExchangeTimeoutError,
} from '../../kernel-magics/src/exchange';
import { ExchangeStrategy } from '../../kernel-magics/src/telemetry/protocol/events';
import {
  allWorkers,
  CrashingStore,
  CrashPoint,
  referenceMean,
  sameBits,
  step,
  TempStore,
  vectorOf,
} from './exchange-fixtures';
import { CountingStore } from '../helpers/counting-store';

let t: TempStore;
beforeEach(() => {
  t = new TempStore();
});
afterEach(async () => {
  await t.dispose();
});

const N = 101;
const vector = (rank: number, round: number): Float32Array => vectorOf(N, rank, round, 21);

/**
 * W workers run `rounds` rounds; worker `crashRank` dies at `point` (in
 * round `crashRound`) and a new instance of it reruns from that round.
 * Resolves to means[rank][round].
 */
async function crashAndRestart(
  run: string,
  strategy: ExchangeStrategy,
  workers: number,
  rounds: number,
  crashRank: number,
  crashRound: number,
  point: CrashPoint,
  extra: { stragglerS?: number } = {},
  delayCrashRoundMs = 0,
): Promise<Float32Array[][]> {
  return allWorkers(workers, async (rank) => {
    const means: Float32Array[] = [];
    if (rank !== crashRank) {
      const ex = await t.open({ run, rank, workers, strategy, ...extra });
      for (let round = 0; round < rounds; round += 1) {
        means.push(await step(ex, strategy, vector(rank, round), round));
      }
      return means;
    }
    const crashing = new CrashingStore(t.store, point);
    const first = await t.open({ run, rank, workers, strategy, store: crashing, ...extra });
    t.abandon(first);
    // This chain never settles once the store "crashes": it is abandoned, as a killed process leaves it.
    void (async () => {
      for (let round = 0; round < rounds; round += 1) {
        if (round === crashRound && delayCrashRoundMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, delayCrashRoundMs));
        }
        means.push(await step(first, strategy, vector(rank, round), round));
      }
    })();
    await crashing.crashed;
    expect(means).toHaveLength(crashRound);
    const second = await t.open({ run, rank, workers, strategy, ...extra });
    for (let round = crashRound; round < rounds; round += 1) {
      means.push(await step(second, strategy, vector(rank, round), round));
    }
    return means;
  });
}

function expectExact(means: Float32Array[][], workers: number, rounds: number): void {
  for (let round = 0; round < rounds; round += 1) {
    const expected = referenceMean(Array.from({ length: workers }, (_, rank) => vector(rank, round)));
    for (let rank = 0; rank < workers; rank += 1) {
      expect(sameBits(means[rank][round], expected)).toBe(true);
    }
  }
}

describe('a worker that crashes mid-round and is restarted from that round', () => {
  test.each<[string, number, CrashPoint]>([
    [
      'the leader, after publishing the mean',
      0,
      { operation: 'putIfAbsent', key: /\/ar\/2\/mean$/, when: 'after' },
    ],
    [
      'the leader, before publishing the mean',
      0,
      { operation: 'putIfAbsent', key: /\/ar\/2\/mean$/, when: 'before' },
    ],
    ['a worker, after sending its vector', 2, { operation: 'put', key: /\/ar\/2\/from-2$/, when: 'after' }],
    ['a worker, before sending its vector', 2, { operation: 'put', key: /\/ar\/2\/from-2$/, when: 'before' }],
    ['a worker, while waiting for the mean', 3, { operation: 'get', key: /\/ar\/2\/mean$/, when: 'before' }],
  ])('allreduce, %s: every worker gets the exact mean of every round', async (_, crashRank, point) => {
    const means = await crashAndRestart('crash', 'allreduce', 4, 4, crashRank, 2, point);
    expectExact(means, 4, 4);
  });

  test.each<[string, number, CrashPoint]>([
    [
      'worker 0, after sending its vector',
      0,
      { operation: 'putIfAbsent', key: /\/ar\/2\/from-0$/, when: 'after' },
    ],
    [
      'worker 1, after sending its vector',
      1,
      { operation: 'putIfAbsent', key: /\/ar\/2\/from-1$/, when: 'after' },
    ],
    [
      'worker 1, before sending its vector',
      1,
      { operation: 'putIfAbsent', key: /\/ar\/2\/from-1$/, when: 'before' },
    ],
    [
      'worker 0, while reading the other vector',
      0,
      { operation: 'get', key: /\/ar\/2\/from-1$/, when: 'before' },
    ],
  ])(
    'allreduce between two workers, %s: both get the exact mean of every round',
    async (_, crashRank, point) => {
      const means = await crashAndRestart('crash-pair', 'allreduce', 2, 4, crashRank, 2, point);
      expectExact(means, 2, 4);
    },
  );

  test('a leader restarted after publishing reuses the mean: it puts nothing in the round', async () => {
    await crashAndRestart('reuse', 'allreduce', 3, 3, 0, 1, {
      operation: 'putIfAbsent',
      key: /\/ar\/1\/mean$/,
      when: 'after',
    });
    const leaderRound1 = t.ofType('exchange-round').filter((e) => e.rank === 0 && e.round === 1);
    // The first instance never finished round 1; the restarted one found the mean.
    expect(leaderRound1).toHaveLength(1);
    expect((leaderRound1[0].requests as { put: number }).put).toBe(0);
  });

  test('scatter-reduce, a worker dies after sending its parts of round 2', async () => {
    const means = await crashAndRestart('crash-sr', 'scatter-reduce', 4, 4, 1, 2, {
      operation: 'put',
      key: /\/sr\/2\/from-1$/,
      when: 'after',
    });
    expectExact(means, 4, 4);
  });

  test('scatter-reduce, a worker dies after reading its first part of round 2', async () => {
    const means = await crashAndRestart('crash-sr3', 'scatter-reduce', 4, 4, 3, 2, {
      operation: 'getRange',
      key: /\/sr\/2\/from-\d$/,
      when: 'after',
    });
    expectExact(means, 4, 4);
  });

  test('scatter-reduce, a shard owner dies before publishing its shard', async () => {
    const means = await crashAndRestart('crash-sr2', 'scatter-reduce', 4, 3, 2, 1, {
      operation: 'putIfAbsent',
      key: /\/sr\/1\/mean\/2$/,
      when: 'before',
    });
    expectExact(means, 4, 3);
  });

  test('parameter server, a worker dies after pushing round 2', async () => {
    const means = await crashAndRestart('crash-ps', 'parameter-server', 4, 4, 3, 2, {
      operation: 'put',
      key: /\/ps\/2\/from-3$/,
      when: 'after',
    });
    expectExact(means, 4, 4);
  });

  test('parameter server, a worker dies while reading a shard of round 2 to reduce it', async () => {
    const means = await crashAndRestart('crash-ps-read', 'parameter-server', 4, 4, 1, 2, {
      operation: 'getRange',
      key: /\/ps\/2\/from-\d$/,
      when: 'after',
    });
    expectExact(means, 4, 4);
  });

  test('parameter server, the worker reducing a shard dies: a puller takes it over', async () => {
    // Worker 3 starts round 1 late and owns shard 3: it reduces it once it has pushed, and dies before publishing.
    const means = await crashAndRestart(
      'crash-ps-claim',
      'parameter-server',
      4,
      3,
      3,
      1,
      { operation: 'putIfAbsent', key: /\/ps\/1\/\d+\/mean$/, when: 'before' },
      { stragglerS: 0.2 },
      200,
    );
    expectExact(means, 4, 3);
  });
});

test('a vector sent again to a round already reduced changes nothing', async () => {
  const workers = 3;
  const first = await allWorkers(workers, async (rank) => {
    const ex = await t.open({ run: 'again', rank, workers });
    return [
      await ex.allreduce(vector(rank, 0), { round: 0 }),
      await ex.allreduce(vector(rank, 1), { round: 1 }),
    ];
  });
  // A retried worker 1 and leader, with other vectors this time: the published round comes back.
  for (const rank of [1, 0]) {
    const ex = await t.open({ run: 'again', rank, workers });
    const again = await ex.allreduce(vector(rank, 99), { round: 0 });
    expect(sameBits(again, first[0][0])).toBe(true);
  }
  expect(sameBits(first[2][0], referenceMean([0, 1, 2].map((rank) => vector(rank, 0))))).toBe(true);
});

test('between two workers, a vector sent again to a round already reduced changes nothing', async () => {
  const first = await allWorkers(2, async (rank) => {
    const ex = await t.open({ run: 'again-pair', rank, workers: 2 });
    return ex.allreduce(vector(rank, 0), { round: 0 });
  });
  // Either worker retried with another vector: the vector it sent first is the one reduced.
  for (const rank of [1, 0]) {
    const ex = await t.open({ run: 'again-pair', rank, workers: 2 });
    const again = await ex.allreduce(vector(rank, 99), { round: 0 });
    expect(sameBits(again, first[0])).toBe(true);
  }
  expect(sameBits(first[1], referenceMean([0, 1].map((rank) => vector(rank, 0))))).toBe(true);
});

describe('timeouts name the missing workers', () => {
  const roundTimeoutS = 0.3;

  test('allreduce between two workers: the one waiting names the other', async () => {
    const ex = await t.open({ run: 'late-pair', rank: 1, workers: 2, roundTimeoutS });
    const error = (await ex
      .allreduce(vector(1, 0), { round: 0 })
      .catch((e: unknown) => e)) as ExchangeTimeoutError;
    expect(error).toBeInstanceOf(ExchangeTimeoutError);
    expect(error.ranks).toEqual([0]);
    expect(error.message).toBe(
      'exchange late-pair: worker 0 did not send round 0 within 0.3 s (worker 1 waited); ' +
        'check their output above, or raise roundTimeoutS',
    );
  });

  test('allreduce: the leader and a worker both name worker 2', async () => {
    const started = Date.now();
    const results = await Promise.allSettled(
      [0, 1].map(async (rank) => {
        const ex = await t.open({ run: 'late', rank, workers: 3, roundTimeoutS });
        return ex.allreduce(vector(rank, 0), { round: 0 });
      }),
    );
    expect(Date.now() - started).toBeLessThan(3000);
    for (const [rank, result] of results.entries()) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as ExchangeTimeoutError;
      expect(error).toBeInstanceOf(ExchangeTimeoutError);
      expect(error.ranks).toEqual([2]);
      expect(error.round).toBe(0);
      expect(error.message).toBe(
        `exchange late: worker 2 did not send round 0 within 0.3 s (worker ${rank} waited); ` +
          'check their output above, or raise roundTimeoutS',
      );
    }
  });

  test('allreduce without its leader: the workers name worker 0 as not reducing', async () => {
    const results = await Promise.allSettled(
      [1, 2].map(async (rank) => {
        const ex = await t.open({ run: 'no-leader', rank, workers: 3, roundTimeoutS });
        return ex.allreduce(vector(rank, 0), { round: 0 });
      }),
    );
    for (const result of results) {
      const error = (result as PromiseRejectedResult).reason as ExchangeTimeoutError;
      expect(error.ranks).toEqual([0]);
      expect(error.message).toMatch(
        /worker 0 did not reduce round 0 \(every other worker sent it\) within 0\.3 s/,
      );
    }
  });

  test('scatter-reduce: workers 2 and 3 absent', async () => {
    const results = await Promise.allSettled(
      [0, 1].map(async (rank) => {
        const ex = await t.open({ run: 'late-sr', rank, workers: 4, roundTimeoutS });
        return ex.scatterReduce(vector(rank, 0), { round: 0 });
      }),
    );
    for (const [rank, result] of results.entries()) {
      const error = (result as PromiseRejectedResult).reason as ExchangeTimeoutError;
      expect(error.ranks).toEqual([2, 3]);
      expect(error.message).toMatch(
        new RegExp(
          `^exchange late-sr: workers 2, 3 did not send their part of shard ${rank} of round 0 within 0\\.3 s`,
        ),
      );
    }
  });

  test('parameter server: push waits for the round and names who did not push it; so does pull', async () => {
    const ex = await t.open({ run: 'late-ps', rank: 0, workers: 3, roundTimeoutS });
    await expect(ex.push(vector(0, 0), { round: 0 })).rejects.toThrow(
      /^exchange late-ps: workers 1, 2 did not push round 0 within 0\.3 s \(worker 0 waited\)/,
    );
    await expect(ex.pull({ round: 0 })).rejects.toThrow(/workers 1, 2 did not push round 0 within 0\.3 s/);
  });
});

describe('aborts stop waits at once', () => {
  test('a call signal aborted mid-wait rejects with its reason, long before the timeout', async () => {
    const ex = await t.open({ run: 'abort', rank: 0, workers: 2, roundTimeoutS: 60 });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('interrupted')), 100);
    await expect(ex.allreduce(vector(0, 0), { round: 0, signal: controller.signal })).rejects.toThrow(
      'interrupted',
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test("the exchange's signal stops every call, and an aborted one stops them before they start", async () => {
    const controller = new AbortController();
    const ex = await t.open({
      run: 'abort-open',
      rank: 1,
      workers: 2,
      roundTimeoutS: 60,
      signal: controller.signal,
    });
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('kernel interrupt')), 100);
    await expect(ex.scatterReduce(vector(1, 0), { round: 0 })).rejects.toThrow('kernel interrupt');
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(ex.scatterReduce(vector(1, 1), { round: 1 })).rejects.toThrow('kernel interrupt');
  });

  test.each([
    ['none', /\/sr\/0\/from-1$/],
    ['topk:0.5', /\/sr\/0\/2\/from-1$/],
  ])(
    'scatter-reduce, codec %s: a part that cannot be sent fails the round at once, stopping the wait for the parts received meanwhile',
    async (codec, key) => {
      const failing = new CountingStore(t.store);
      failing.failWrites = key;
      const ex = await t.open({
        run: 'send-fails',
        rank: 1,
        workers: 3,
        roundTimeoutS: 60,
        store: failing,
        codec,
      });
      const started = Date.now();
      await expect(ex.scatterReduce(vector(1, 0), { round: 0 })).rejects.toThrow(
        new RegExp(`injected failure writing .*${key.source}`),
      );
      expect(Date.now() - started).toBeLessThan(1000);
      // The wait for shard 1's parts stopped with the failure: no poll of it follows.
      const polls = failing.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(failing.calls.length).toBe(polls);
    },
  );
});

test('a straggler is reported once per round by each waiting worker, with the ranks waited for', async () => {
  const workers = 3;
  await allWorkers(workers, async (rank) => {
    const ex = await t.open({ run: 'slow', rank, workers, stragglerS: 0.15 });
    for (let round = 0; round < 2; round += 1) {
      if (rank === 2 && round === 0) {
        await new Promise((resolve) => setTimeout(resolve, 600));
      }
      await ex.allreduce(vector(rank, round), { round });
    }
  });
  // Round 1 had no straggler; on a loaded machine a worker might still wait that long, so only round 0 is checked.
  const stragglers = t.ofType('exchange-straggler').filter((e) => e.round === 0);
  expect(stragglers.sort((a, b) => (a.rank as number) - (b.rank as number))).toEqual([
    { exchange: 'slow', round: 0, ranks: [2], rank: 0 },
    { exchange: 'slow', round: 0, ranks: [2], rank: 1 },
  ]);
});

test('vectors of different lengths: the reducer names the worker, the others time out', async () => {
  const results = await Promise.allSettled(
    [0, 1, 2].map(async (rank) => {
      const ex = await t.open({ run: 'lengths', rank, workers: 3, roundTimeoutS: 0.5 });
      return ex.allreduce(vectorOf(rank === 1 ? 11 : 10, rank, 0), { round: 0 });
    }),
  );
  const leader = (results[0] as PromiseRejectedResult).reason as Error;
  expect(leader).toBeInstanceOf(ExchangeMismatchError);
  expect(leader.message).toBe(
    "worker 1's part of round 0 of exchange lengths holds 11 floats where this worker expects 10: " +
      'every worker must pass vectors of the same length',
  );
  expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ExchangeTimeoutError);
  expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(ExchangeTimeoutError);
});

test('vectors of different lengths between two workers: each names the other at once', async () => {
  const results = await Promise.allSettled(
    [0, 1].map(async (rank) => {
      const ex = await t.open({ run: 'lengths-2', rank, workers: 2, roundTimeoutS: 30 });
      return ex.allreduce(vectorOf(rank === 1 ? 11 : 10, rank, 0), { round: 0 });
    }),
  );
  const reasons = results.map((r) => (r as PromiseRejectedResult).reason as Error);
  expect(reasons[0]).toBeInstanceOf(ExchangeMismatchError);
  expect(reasons[0].message).toBe(
    "worker 1's part of round 0 of exchange lengths-2 holds 11 floats where this worker expects 10: " +
      'every worker must pass vectors of the same length',
  );
  expect(reasons[1]).toBeInstanceOf(ExchangeMismatchError);
  expect(reasons[1].message).toMatch(
    /^worker 0's part of round 0 of exchange lengths-2 holds 10 floats where/,
  );
});

describe('options and calls that cannot be used', () => {
  test.each<[object, RegExp]>([
    [{ rank: 4, workers: 4 }, /rank must be in \[0, workers\) = \[0, 4\), got 4/],
    [{ rank: 0, workers: 0 }, /workers must be an integer >= 1; got 0/],
    [{ rank: -1, workers: 2 }, /rank must be an integer >= 0; got -1/],
    [{ rank: 0, workers: 2, run: 'a/b' }, /run must be 1-200 letters, digits/],
    [{ rank: 0, workers: 2, codec: 'zip' }, /unknown codec 'zip': use 'none', 'fp16' or 'topk:<fraction>'/],
    [
      { rank: 0, workers: 2, strategy: 'ring' },
      /strategy must be one of 'allreduce', 'scatter-reduce', 'parameter-server'/,
    ],
    [{ rank: 0, workers: 2, roundTimeoutS: 0 }, /roundTimeoutS must be a number of seconds > 0; got 0/],
    [{ rank: 0, workers: 2, staleness: 1.5 }, /staleness must be an integer >= 0; got 1\.5/],
  ])('open(%j) is refused', async (options, message) => {
    await expect(t.open(options as never)).rejects.toThrow(ExchangeConfigError);
    await expect(t.open(options as never)).rejects.toThrow(message);
  });

  test('rounds, vectors, strategies and closed exchanges', async () => {
    const ex = await t.open({ run: 'calls', rank: 0, workers: 1 });
    await expect(ex.allreduce(vector(0, 0), { round: -1 })).rejects.toThrow(
      /round \} must be an integer >= 0/,
    );
    await expect(ex.allreduce([1, 2] as unknown as Float32Array, { round: 0 })).rejects.toThrow(
      /must be a Float32Array/,
    );
    // One worker: its own vector is the mean.
    expect(Array.from(await ex.allreduce(new Float32Array([1, 2]), { round: 0 }))).toEqual([1, 2]);
    await expect(ex.push(new Float32Array(2), { round: 1 })).rejects.toThrow(
      /exchange calls uses allreduce; push\(\) is parameter-server: open another exchange/,
    );
    await ex.close();
    await expect(ex.allreduce(new Float32Array(2), { round: 1 })).rejects.toThrow(ExchangeError);
    await expect(ex.allreduce(new Float32Array(2), { round: 1 })).rejects.toThrow(/after close\(\)/);
  });
});
