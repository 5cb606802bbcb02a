/**
 * Packed contributions: a worker's pieces of a round's shards in one
 * object, where each reducer finds its own piece by range, for every writer,
 * shard split and fixed-length codec; with the writer's own shard left out
 * (scatter-reduce) or kept (the parameter server).
 */
import { parseCodec } from '../../kernel-magics/src/exchange/codecs';
import { PackedLayout } from '../../kernel-magics/src/exchange/collectives/packed';
import { shardBounds } from '../../kernel-magics/src/exchange/collectives/reduce';
import { vectorOf } from './exchange-fixtures';

describe.each(['none', 'fp16'])('codec %s', (name) => {
  const codec = parseCodec(name);

  test.each([
    [10, 3],
    [1000, 8],
    [7, 7],
  ])('%i floats in %i shards: every reducer reads back exactly its piece, from every writer', (n, shards) => {
    const bounds = shardBounds(n, shards);
    const layout = PackedLayout.of(codec, bounds);
    if (!layout) {
      throw new Error('no layout');
    }
    const writers = [undefined, ...Array.from({ length: shards }, (_, j) => j)];
    for (const without of writers) {
      const pieces = bounds.map(([a, b]) => codec.encode(vectorOf(n, without ?? 99, 0, 3).subarray(a, b)));
      const packed = layout.pack(pieces, without);
      const left = without === undefined ? 0 : pieces[without].byteLength;
      expect(packed.byteLength).toBe(pieces.reduce((sum, piece) => sum + piece.byteLength, 0) - left);
      for (let shard = 0; shard < shards; shard += 1) {
        if (shard === without) {
          expect(() => layout.range(shard, without)).toThrow(/without shard \d+ has no piece of it/);
          continue;
        }
        const { offset, length } = layout.range(shard, without);
        expect(Buffer.from(packed.subarray(offset, offset + length))).toEqual(Buffer.from(pieces[shard]));
      }
    }
  });

  test('a vector shorter than the shards has empty shards: no layout (pieces go one object each)', () => {
    expect(PackedLayout.of(codec, shardBounds(3, 4))).toBeUndefined();
  });

  test('a piece whose length is not the one the codec promised is refused', () => {
    const layout = PackedLayout.of(codec, shardBounds(8, 2));
    expect(() => layout?.pack([new Uint8Array(1), new Uint8Array(3)], 0)).toThrow(
      /encoded shard 1 in 3 bytes/,
    );
  });
});

test('topk has no fixed lengths: no layout', () => {
  expect(PackedLayout.of(parseCodec('topk:0.1'), shardBounds(100, 4))).toBeUndefined();
});
