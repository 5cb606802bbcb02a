/**
 * The packed contribution of scatter-reduce: a worker's pieces of every
 * other shard in one object, where each reducer finds its own piece by
 * range, for every writer, shard split and fixed-length codec.
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
  ])(
    '%i floats in %i shards: every reducer reads back exactly its piece, from every writer',
    (n, workers) => {
      const bounds = shardBounds(n, workers);
      const layout = PackedLayout.of(codec, bounds);
      expect(layout).toBeDefined();
      for (let writer = 0; writer < workers; writer += 1) {
        const pieces = bounds.map(([a, b]) => codec.encode(vectorOf(n, writer, 0, 3).subarray(a, b)));
        const packed = layout!.pack(writer, pieces);
        const own = pieces[writer].byteLength;
        expect(packed.byteLength).toBe(pieces.reduce((sum, piece) => sum + piece.byteLength, 0) - own);
        for (let shard = 0; shard < workers; shard += 1) {
          if (shard === writer) {
            expect(() => layout!.range(writer, shard)).toThrow(/no piece of its own shard/);
            continue;
          }
          const { offset, length } = layout!.range(writer, shard);
          expect(Buffer.from(packed.subarray(offset, offset + length))).toEqual(Buffer.from(pieces[shard]));
        }
      }
    },
  );

  test('a vector shorter than the workers has empty shards: no layout (pieces go one object each)', () => {
    expect(PackedLayout.of(codec, shardBounds(3, 4))).toBeUndefined();
  });

  test('a piece whose length is not the one the codec promised is refused', () => {
    const bounds = shardBounds(8, 2);
    const layout = PackedLayout.of(codec, bounds)!;
    expect(() => layout.pack(0, [new Uint8Array(1), new Uint8Array(3)])).toThrow(
      /encoded shard 1 in 3 bytes/,
    );
  });
});

test('topk has no fixed lengths: no layout', () => {
  expect(PackedLayout.of(parseCodec('topk:0.1'), shardBounds(100, 4))).toBeUndefined();
});
