/**
 * Error-feedback residuals across exchanges: kept in memory per exchange
 * and rank (a warm environment reopening the exchange continues with them,
 * reading nothing), saved on close, loaded from the store only by an
 * environment that has none (a cold one), never moved inside a round. The
 * error-feedback identity holds across the reopenings.
 */
import { feedbackRegistry, FeedbackSlot } from '../../kernel-magics/src/exchange/collectives/feedback';
import { CountingStore } from '../../kernel-magics/src/exchange/collectives/traffic';
import { TopKCodec } from '../../kernel-magics/src/exchange/codecs';
import { emptyUsage } from '../../kernel-magics/src/exchange/store/object-store';
import { allWorkers, TempStore, vectorOf } from './exchange-fixtures';

let t: TempStore;
beforeEach(() => {
  t = new TempStore();
});
afterEach(async () => {
  await t.dispose();
});

const N = 200;
const WORKERS = 2;
const vector = (rank: number, round: number): Float32Array => vectorOf(N, rank, round, 41);

test('residuals survive a warm reopen (from memory) and a cold one (from the store), and the identity holds', async () => {
  const means: Float32Array[] = [];
  const usage = emptyUsage();
  /** Runs rounds [from, to) on both workers, each opening the exchange through a counting view. */
  const session = async (from: number, to: number): Promise<void> => {
    const got = await allWorkers(WORKERS, async (rank) => {
      const ex = await t.open({
        run: 'ef',
        rank,
        workers: WORKERS,
        codec: 'topk:0.05',
        store: new CountingStore(t.store, [usage]),
      });
      const out: Float32Array[] = [];
      for (let round = from; round < to; round += 1) {
        out.push(await ex.allreduce(vector(rank, round), { round }));
      }
      await ex.close();
      return out;
    });
    means.push(...got[0]);
  };
  const gets = (): number => usage.requests.get;

  await session(0, 2);
  const roundGets = t.ofType('exchange-round').reduce((s, e) => s + (e.requests as { get: number }).get, 0);
  // The first open found no saved state (one GET per worker), then only the rounds read.
  expect(gets()).toBe(WORKERS + roundGets);

  // Warm: the residuals are in memory; opening reads nothing.
  const before = gets();
  const registryKeys = [...feedbackRegistry().keys()].filter((key) => key.includes(t.dir));
  expect(registryKeys).toHaveLength(WORKERS);
  await session(2, 4);
  const roundGetsNow = t
    .ofType('exchange-round')
    .reduce((s, e) => s + (e.requests as { get: number }).get, 0);
  expect(gets() - before).toBe(roundGetsNow - roundGets);

  // Cold: forget them (a new environment); opening loads each worker's saved state once.
  for (const key of registryKeys) {
    feedbackRegistry().delete(key);
  }
  const beforeCold = gets();
  await session(4, 6);
  const roundGetsCold = t
    .ofType('exchange-round')
    .reduce((s, e) => s + (e.requests as { get: number }).get, 0);
  expect(gets() - beforeCold).toBe(WORKERS + roundGetsCold - roundGetsNow);

  // Across the three sessions: sum of decoded means = sum of exact means - residuals.
  const slots = (rank: number): Map<string, FeedbackSlot> =>
    feedbackRegistry().get(registryKeys[rank])?.slots ?? new Map();
  const owner = registryKeys.findIndex((key) => key.endsWith('|0'));
  let worst = 0;
  for (let i = 0; i < N; i += 1) {
    let gap = 0;
    for (let round = 0; round < 6; round += 1) {
      gap += means[round][i] - (vector(0, round)[i] + vector(1, round)[i]) / WORKERS;
    }
    for (let rank = 0; rank < WORKERS; rank += 1) {
      gap +=
        (slots(registryKeys.findIndex((key) => key.endsWith(`|${rank}`))).get('up')?.residual[i] ?? NaN) /
        WORKERS;
    }
    gap += slots(owner).get('down:ar')?.residual[i] ?? NaN;
    worst = Math.max(worst, Math.abs(gap));
  }
  expect(worst).toBeLessThan(1e-4);
});

test('a retried round starts again from the residual before it: nothing is counted twice', () => {
  const codec = new TopKCodec(0.1);
  const slot = new FeedbackSlot();
  const v0 = vectorOf(50, 0, 0);
  const v1 = vectorOf(50, 0, 1);
  const [first0] = slot.encode(codec, v0, 0, [[0, 50]]);
  const afterRound0 = slot.residual.slice();
  const [first1] = slot.encode(codec, v1, 1, [[0, 50]]);
  const afterRound1 = slot.residual.slice();
  // Round 1 again (a retry): same bytes, same residual.
  const [again1] = slot.encode(codec, v1, 1, [[0, 50]]);
  expect(Buffer.from(again1).equals(Buffer.from(first1))).toBe(true);
  expect(Array.from(slot.residual)).toEqual(Array.from(afterRound1));
  // Round 0 again (older than the last): encoded without feedback, the residual untouched.
  const [old0] = slot.encode(codec, v0, 0, [[0, 50]]);
  expect(Buffer.from(old0).equals(Buffer.from(codec.encode(v0)))).toBe(true);
  expect(Array.from(slot.residual)).toEqual(Array.from(afterRound1));
  expect(Buffer.from(first0).equals(Buffer.from(codec.encode(v0)))).toBe(true); // no residual before round 0
  expect(afterRound0.some((x) => x !== 0)).toBe(true);
});
