/**
 * The reduction every strategy shares, defined so that results are
 * bit-exact and the same on every worker and for every strategy:
 * - a vector of n floats is cut into `parts` shards, shard j covering
 *   [floor(j * n / parts), floor((j + 1) * n / parts));
 * - the mean of a shard starts from +0 in float32 and adds the decoded
 *   contributions in rank order 0, 1, ..., W-1, each addition rounded to
 *   float32; the sum is then divided by W and rounded to float32 once.
 * With the `none` codec the mean is exactly that of the workers' vectors
 * computed this way, on every worker, whatever the strategy.
 */
import type { Codec } from '../codecs';
import { CodecError } from '../codecs';
import { ExchangeMismatchError } from './errors';

/** The [start, end) ranges of `parts` shards of a vector of `n` floats. */
export function shardBounds(n: number, parts: number): Array<[number, number]> {
  const bounds: Array<[number, number]> = [];
  for (let j = 0; j < parts; j += 1) {
    bounds.push([Math.floor((j * n) / parts), Math.floor(((j + 1) * n) / parts)]);
  }
  return bounds;
}

/** One worker's encoded part of a shard. */
export interface Contribution {
  rank: number;
  bytes: Uint8Array;
}

/**
 * The float32 mean of `contributions` (one per rank, any order: they are
 * summed in rank order), each `floats` long once decoded. `where` names the
 * round and shard for messages.
 */
export function meanOf(
  codec: Codec,
  contributions: Contribution[],
  floats: number,
  where: string,
): Float32Array {
  const sum = new Float32Array(floats);
  const ordered = [...contributions].sort((a, b) => a.rank - b.rank);
  for (const { rank, bytes } of ordered) {
    checkFloats(codec, bytes, floats, `worker ${rank}'s part of ${where}`);
    codec.addInto(bytes, sum);
  }
  const workers = ordered.length;
  for (let i = 0; i < floats; i += 1) {
    sum[i] /= workers;
  }
  return sum;
}

/** Decodes `bytes`, checking that they hold `floats` floats. */
export function decodeChecked(codec: Codec, bytes: Uint8Array, floats: number, what: string): Float32Array {
  checkFloats(codec, bytes, floats, what);
  return codec.decode(bytes);
}

/** Throws an ExchangeMismatchError when `bytes` do not hold `floats` floats of this codec. */
export function checkFloats(codec: Codec, bytes: Uint8Array, floats: number, what: string): void {
  let got: number;
  try {
    got = codec.floats(bytes);
  } catch (error) {
    if (error instanceof CodecError) {
      throw new ExchangeMismatchError(
        `${what} cannot be read with codec ${codec.name} (${error.message}): every worker must open the exchange with the same codec`,
        { cause: error },
      );
    }
    throw error;
  }
  if (got !== floats) {
    throw new ExchangeMismatchError(
      `${what} holds ${got} floats where this worker expects ${floats}: every worker must pass vectors of the same length`,
    );
  }
}
