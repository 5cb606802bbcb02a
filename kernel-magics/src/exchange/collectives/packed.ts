/**
 * A worker's packed contribution to a round: its encoded pieces of the
 * shards, end to end in shard order, as one object. Scatter-reduce leaves
 * out the writer's own shard (it reduces that one itself); the parameter
 * server keeps every shard (any worker may reduce any shard). With a codec
 * whose encoded length depends only on the number of floats
 * ({@link Codec.encodedLength}), every reducer knows where its piece starts
 * and reads only that, by range. A worker then writes one object a round
 * instead of one per shard: that many times fewer files created on the
 * embedded store, and PUT requests on S3 (billed as 12.5 GETs).
 */
import type { Codec } from '../codecs';

/** A byte range of a packed contribution. */
export interface PieceRange {
  offset: number;
  length: number;
}

/** Where each shard's piece sits in any worker's packed contribution, for one vector length. */
export class PackedLayout {
  /** Bytes before shard j's piece when every piece is present (prefix sums of the pieces' lengths). */
  private readonly starts: number[];

  private constructor(private readonly lengths: number[]) {
    this.starts = [0];
    for (const length of lengths) {
      this.starts.push(this.starts[this.starts.length - 1] + length);
    }
  }

  /**
   * The layout of shards `bounds` under `codec`; undefined when the codec's
   * lengths vary with the values, or a shard is empty (a vector shorter than
   * the shards: a piece of no bytes cannot be read by range).
   */
  static of(codec: Codec, bounds: Array<[number, number]>): PackedLayout | undefined {
    const encodedLength = codec.encodedLength?.bind(codec);
    const lengths = encodedLength && bounds.map(([a, b]) => encodedLength(b - a));
    return lengths && lengths.every((length) => length > 0) ? new PackedLayout(lengths) : undefined;
  }

  /** Where shard `shard`'s piece is in a contribution that leaves out shard `without` (none when undefined). */
  range(shard: number, without?: number): PieceRange {
    if (shard === without) {
      throw new RangeError(`a packed contribution without shard ${shard} has no piece of it`);
    }
    const skipped = without !== undefined && without < shard ? this.lengths[without] : 0;
    return { offset: this.starts[shard] - skipped, length: this.lengths[shard] };
  }

  /** `pieces` (one per shard) as one object, leaving out shard `without` (none when undefined). */
  pack(pieces: Uint8Array[], without?: number): Uint8Array {
    const total = this.starts[this.starts.length - 1] - (without === undefined ? 0 : this.lengths[without]);
    const out = new Uint8Array(total);
    pieces.forEach((piece, shard) => {
      if (shard === without) {
        return;
      }
      if (piece.byteLength !== this.lengths[shard]) {
        throw new Error(
          `the codec encoded shard ${shard} in ${piece.byteLength} bytes where its encodedLength says ${this.lengths[shard]}`,
        );
      }
      out.set(piece, this.range(shard, without).offset);
    });
    return out;
  }
}
