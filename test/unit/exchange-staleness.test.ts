/**
 * The parameter server's bounded staleness (SSP), as documented on
 * ParameterServer: push(r) waits until every worker has pushed round r - s;
 * pull(r) gives the newest round in [max(0, r - s), r] that every worker
 * has pushed. With s = 0, push is a barrier and pull gives round r.
 */
import { Exchange } from '../../kernel-magics/src/exchange';
import { allWorkers, referenceMean, sameBits, TempStore, vectorOf } from './exchange-fixtures';

let t: TempStore;
beforeEach(() => {
  t = new TempStore();
});
afterEach(async () => {
  await t.dispose();
});

const N = 64;
const vector = (rank: number, round: number): Float32Array => vectorOf(N, rank, round, 31);
const exactMean = (workers: number, round: number): Float32Array =>
  referenceMean(Array.from({ length: workers }, (_, rank) => vector(rank, round)));

/** Whether `promise` is still pending after `ms`. */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
  return !settled;
}

async function openAll(workers: number, run: string, staleness: number, codec = 'none'): Promise<Exchange[]> {
  return allWorkers(workers, (rank) =>
    t.open({ run, rank, workers, strategy: 'parameter-server', staleness, codec, roundTimeoutS: 10 }),
  );
}

test('staleness 0: push is a barrier on its round, and pull gives that round', async () => {
  const [a, b] = await openAll(2, 'ssp0', 0);
  const pushA = a.push(vector(0, 0), { round: 0 });
  expect(await pendingAfter(pushA, 150)).toBe(true); // worker 1 has not pushed round 0
  await Promise.all([pushA, b.push(vector(1, 0), { round: 0 })]);
  const [pa, pb] = await Promise.all([a.pull({ round: 0 }), b.pull({ round: 0 })]);
  expect(pa.round).toBe(0);
  expect(pb.round).toBe(0);
  expect(sameBits(pa.mean, exactMean(2, 0))).toBe(true);
  expect(sameBits(pb.mean, pa.mean)).toBe(true);
  // The pull is the mean itself, as allreduce's is, and says its round.
  expect(pa).toBeInstanceOf(Float32Array);
  expect(pa.mean).toBe(pa);
  expect(sameBits(pa, exactMean(2, 0))).toBe(true);
});

test('staleness 1: a worker runs one round ahead of the slowest, pulling the newest complete round', async () => {
  const workers = 3;
  const [w0, w1, w2] = await openAll(workers, 'ssp1', 1);
  // Round 0: nobody waits to push (round -1 does not exist); pull waits for round 0.
  await Promise.all([w0, w1, w2].map((ex, rank) => ex.push(vector(rank, 0), { round: 0 })));
  // Workers 0 and 1 go on; worker 2 lags.
  await w0.push(vector(0, 1), { round: 1 }); // waits for everyone's round 0: done
  await w1.push(vector(1, 1), { round: 1 });
  const stale = await w0.pull({ round: 1 }); // round 1 is not complete: the newest complete in [0, 1] is 0
  expect(stale.round).toBe(0);
  expect(sameBits(stale.mean, exactMean(workers, 0))).toBe(true);
  // Round 2 may not start until everyone has pushed round 1.
  const push2 = w0.push(vector(0, 2), { round: 2 });
  expect(await pendingAfter(push2, 200)).toBe(true);
  await w2.push(vector(2, 1), { round: 1 });
  await push2;
  // Round 1 is complete now: a pull of round 1 or 2 gives it (round 2 is not complete).
  const [p2, p1] = await Promise.all([w0.pull({ round: 2 }), w2.pull({ round: 1 })]);
  expect(p2.round).toBe(1);
  expect(p1.round).toBe(1);
  expect(sameBits(p2.mean, exactMean(workers, 1))).toBe(true);
  expect(sameBits(p1.mean, p2.mean)).toBe(true);
  // A pull waits for round r - s when even that is not complete.
  await Promise.all([w1.push(vector(1, 2), { round: 2 }), w2.push(vector(2, 2), { round: 2 })]);
  await w0.push(vector(0, 3), { round: 3 }); // round 2 is complete: no wait
  const pull4 = w0.pull({ round: 4 }); // needs round 3 at least
  expect(await pendingAfter(pull4, 150)).toBe(true);
  await Promise.all([w1.push(vector(1, 3), { round: 3 }), w2.push(vector(2, 3), { round: 3 })]);
  const p3 = await pull4;
  expect(p3.round).toBe(3);
  expect(sameBits(p3.mean, exactMean(workers, 3))).toBe(true);
});

test('staleness 2 with top-k: the owners reduce rounds in order and every worker reads the same means', async () => {
  const workers = 4;
  const rounds = 6;
  const exchanges = await openAll(workers, 'ssp2-topk', 2, 'topk:0.1');
  const pulled = await allWorkers(workers, async (rank) => {
    const got: Array<{ round: number; mean: Float32Array }> = [];
    for (let round = 0; round < rounds; round += 1) {
      if (rank === 3) {
        await new Promise((resolve) => setTimeout(resolve, 30)); // the slow one
      }
      await exchanges[rank].push(vector(rank, round), { round });
      const result = await exchanges[rank].pull({ round });
      expect(result.round).toBeGreaterThanOrEqual(round - 2);
      expect(result.round).toBeLessThanOrEqual(round);
      got.push(result);
    }
    // An owner that finishes early reduces its shards of the rounds the slow worker pushes later.
    await exchanges[rank].close();
    return got;
  });
  // A round's mean has the same bits whoever pulled it.
  const byRound = new Map<number, Float32Array>();
  for (const results of pulled) {
    for (const { round, mean } of results) {
      const seen = byRound.get(round);
      if (seen) {
        expect(sameBits(mean, seen)).toBe(true);
      } else {
        byRound.set(round, mean);
      }
    }
  }
  // The slow worker pushes last, so its last pull sees the last round complete.
  expect(pulled[3][rounds - 1].round).toBe(rounds - 1);
  // Someone ran ahead: staleness was used.
  expect(pulled.some((results) => results.some(({ round }, i) => round < i))).toBe(true);
});
