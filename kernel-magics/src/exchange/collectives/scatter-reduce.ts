/**
 * Scatter-reduce (a mesh): the vector is cut into one shard per worker;
 * worker i sends its part of shard j for every other j; worker j takes the
 * mean of shard j (with its own part, which it never sends) and puts it;
 * every worker then gathers all the reduced shards. Each worker moves about
 * 2 (W - 1) / W of a vector each way instead of the leader's W - 1.
 *
 * With a codec of fixed lengths (`none`, `fp16`) and a store that reads
 * ranges (every store of this package), a worker's parts travel as one
 * packed object, each reducer reading its own part by range (see
 * `packed.ts`), and the writer removes it once every mean is published;
 * otherwise (`topk`) each part is an object, removed by its reducer.
 */
import { PackedLayout } from './packed';
import { decodeChecked, shardBounds } from './reduce';
import { Round, WantedKey } from './round';

/** One worker's part of a scatter-reduce round; resolves to the element-wise mean. */
export async function scatterReduceRound(round: Round, v: Float32Array): Promise<Float32Array> {
  const { core, codec } = round;
  const { rank, workers, run } = core.options;
  const r = round.round;
  const keys = core.keys;
  const bounds = shardBounds(v.length, workers);
  const length = (j: number): number => bounds[j][1] - bounds[j][0];
  const up = core.feedbackSlot('up');
  const pieces = up ? up.encode(codec, v, r, bounds) : bounds.map(([a, b]) => codec.encode(v.subarray(a, b)));
  const layout = core.store.getRange ? PackedLayout.of(codec, bounds) : undefined;
  const others = Array.from({ length: workers }, (_, j) => j).filter((j) => j !== rank);
  const me = `worker:${rank}`;

  // Send this worker's part of every other shard.
  if (layout) {
    const parts = others.map((j) => ({ node: `worker:${j}`, bytes: pieces[j].byteLength }));
    await round.traffic.putShared(keys.packed('sr', r, rank), layout.pack(pieces, rank), parts, round.call);
  } else {
    await Promise.all(
      others.map((j) =>
        round.via(`worker:${j}`).put(keys.contribution('sr', r, j, rank), pieces[j], round.call),
      ),
    );
  }
  for (const j of others) {
    round.traffic.moved(length(j));
  }

  // Reduce this worker's shard.
  const where = (j: number): string => `shard ${j} of round ${r} of exchange ${run}`;
  const sentKey = (sender: number, shard: number): string =>
    layout ? keys.packed('sr', r, sender) : keys.contribution('sr', r, shard, sender);
  const parts: WantedKey[] = others.map((i) => ({
    key: sentKey(i, rank),
    rank: i,
    node: me,
    floats: length(rank),
    range: layout?.range(rank, i),
  }));
  const meanKey = (j: number): string => keys.mean('sr', r, j);
  const got = await round.collect(
    layout ? keys.round('sr', r) : keys.shard('sr', r, rank),
    parts,
    { key: meanKey(rank), node: me, floats: length(rank) },
    `send their part of shard ${rank} of round ${r}`,
  );
  const mine =
    'stopped' in got
      ? got.stopped
      : await round.reduceAndPublish({
          node: me,
          meanKey: meanKey(rank),
          contributions: [
            { rank, bytes: pieces[rank] },
            ...parts.map((p) => ({ rank: p.rank, bytes: got.found.get(p.key) as Uint8Array })),
          ],
          floats: length(rank),
          slotName: 'down:sr',
          where: where(rank),
          // A packed contribution is read by every other reducer: its writer removes it (below).
          consumed: layout ? [] : parts.map((p) => p.key),
        });

  // Gather the other shards' means.
  const means: WantedKey[] = others.map((j) => ({
    key: meanKey(j),
    rank: j,
    node: `worker:${j}`,
    floats: length(j),
  }));
  const gathered = await round.collect(
    keys.srMeans(r),
    means,
    undefined,
    `reduce their shard of round ${r}`,
    async (missing) => {
      // A shard not reduced yet usually waits for a sender: name the senders if so.
      const listed = new Set(await round.via(me).list(keys.round('sr', r), round.call));
      const senders = new Set<number>();
      for (const j of missing.ranks) {
        for (let i = 0; i < workers; i += 1) {
          if (i !== j && !listed.has(sentKey(i, j))) {
            senders.add(i);
          }
        }
      }
      return senders.size > 0
        ? { ranks: [...senders].sort((a, b) => a - b), action: `send round ${r}` }
        : missing;
    },
  );
  if (!('found' in gathered)) {
    throw new Error('unreachable: collect without a stop key stops only when all keys are found');
  }
  if (layout) {
    // Every mean is published, so every reducer has read its part of this worker's contribution.
    core.cleanups.add(round.via(me).delete(keys.packed('sr', r, rank), round.call));
  }
  const out = new Float32Array(v.length);
  for (let j = 0; j < workers; j += 1) {
    const bytes = j === rank ? mine : (gathered.found.get(meanKey(j)) as Uint8Array);
    out.set(decodeChecked(codec, bytes, length(j), `the mean of ${where(j)}`), bounds[j][0]);
  }
  return out;
}
