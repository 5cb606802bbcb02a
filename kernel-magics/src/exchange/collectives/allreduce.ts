/**
 * All-reduce through a leader (a star around worker 0): every other worker
 * puts its encoded vector under the round; worker 0 waits for them, takes
 * the mean (with its own vector, which it never sends), encodes it and puts
 * it once; the others wait for it. Every worker returns the decoded mean,
 * the same bits everywhere.
 *
 * With two workers the star has one leaf, and the leader's trip back is a
 * second wait for bytes the leaf could read itself: each worker puts its
 * vector and reads the other's, and both encode the mean as the leader
 * would (each keeps the leader's residual, which evolves the same on both).
 * The same bytes, requests and results, one wait a round instead of two.
 */
import { decodeChecked } from './reduce';
import { Round, WantedKey } from './round';

const LEADER = 0;

/** One worker's part of an all-reduce round; resolves to the element-wise mean. */
export async function allreduceRound(round: Round, v: Float32Array): Promise<Float32Array> {
  const { core, codec } = round;
  const { rank, workers, run } = core.options;
  const r = round.round;
  const n = v.length;
  const keys = core.keys;
  const node = `worker:${LEADER}`;
  const meanKey = keys.mean('ar', r, 0);
  const where = `round ${r} of exchange ${run}`;
  const up = core.feedbackSlot('up');
  const [mine] = up ? up.encode(codec, v, r, [[0, n]]) : [codec.encode(v)];

  if (workers === 2) {
    return pairRound(round, node, mine, n, where);
  }
  if (rank !== LEADER) {
    await round.via(node).put(keys.contribution('ar', r, 0, rank), mine, round.call);
    round.traffic.moved(n);
    const others = Array.from({ length: workers }, (_, i) => i).filter((i) => i !== LEADER);
    const bytes = await round.waitFor(node, meanKey, n, async () => {
      const absent = await round.absentRanks(
        node,
        keys.round('ar', r),
        (i) => keys.contribution('ar', r, 0, i),
        others,
      );
      return absent.length > 0
        ? { ranks: absent, action: `send round ${r}` }
        : { ranks: [LEADER], action: `reduce round ${r} (every other worker sent it)` };
    });
    return decodeChecked(codec, bytes, n, `the mean of ${where}`);
  }

  const wanted: WantedKey[] = [];
  for (let i = 0; i < workers; i += 1) {
    if (i !== LEADER) {
      wanted.push({ key: keys.contribution('ar', r, 0, i), rank: i, node, floats: n });
    }
  }
  const got = await round.collect(
    keys.round('ar', r),
    wanted,
    { key: meanKey, node, floats: n },
    `send round ${r}`,
  );
  const bytes =
    'stopped' in got
      ? got.stopped
      : await round.reduceAndPublish({
          node,
          meanKey,
          contributions: [
            { rank, bytes: mine },
            ...wanted.map((w) => ({ rank: w.rank, bytes: got.found.get(w.key) as Uint8Array })),
          ],
          floats: n,
          slotName: 'down:ar',
          where,
          consumed: wanted.map((w) => w.key),
        });
  return decodeChecked(codec, bytes, n, `the mean of ${where}`);
}

/**
 * A round between two workers: put this worker's vector, read the other's,
 * and take the mean here. Both vectors stay in the store until the run's
 * keys are removed, as a leader's means do: a retried worker replays its
 * rounds from them, reducing the vector it sent first (the other worker may
 * have reduced that one already).
 */
async function pairRound(
  round: Round,
  node: string,
  mine: Uint8Array,
  n: number,
  where: string,
): Promise<Float32Array> {
  const { core, codec } = round;
  const { rank } = core.options;
  const r = round.round;
  const other = 1 - rank;
  const { bytes: sent } = await round.putOnce(
    node,
    core.keys.contribution('ar', r, 0, rank),
    mine,
    n,
    `this worker's part of ${where} is gone from the store`,
  );
  const theirs = await round.waitFor(node, core.keys.contribution('ar', r, 0, other), n, () =>
    Promise.resolve({ ranks: [other], action: `send round ${r}` }),
  );
  const bytes = round.encodedMean({
    contributions: [
      { rank, bytes: sent },
      { rank: other, bytes: theirs },
    ],
    floats: n,
    slotName: 'down:ar',
    where,
  });
  return decodeChecked(codec, bytes, n, `the mean of ${where}`);
}
