/**
 * The `topk:F` codec: of a vector of n floats, only the k = ceil(F * n)
 * entries of largest magnitude are sent, as their float32 values and their
 * indices; the others read as zeros. Used with error feedback (the exchange
 * keeps what was left out and adds it to the next round's vector), so that
 * nothing is lost, only delayed.
 *
 * Layout (little-endian): n (u32), k (u32), the k values (float32, in index
 * order), then the k indices as gaps (index - previous index - 1, the first
 * from -1) in LEB128 varints. At F = 0.01 the gaps average about 100, one or
 * two varint bytes, so an entry costs about five bytes where `none` spends
 * four per element: roughly 4 / (5 * F) times fewer bytes.
 */
import { LITTLE_ENDIAN, readFloat32s } from './bytes';
import { Codec, CodecError } from './codec';
import { checkLength } from './none';
import { topKIndices } from './select';

const HEADER_BYTES = 8;
/** The most bytes one uint32 varint takes. */
const MAX_VARINT_BYTES = 5;

/** How many entries `topk:fraction` keeps of `n`: ceil(fraction * n), at least one when n > 0. */
export function keptCount(fraction: number, n: number): number {
  const exact = fraction * n;
  // A product like 0.01 * 1e6 may come out a hair above the integer it means; ceil must not round that up.
  return Math.min(n, Math.ceil(exact - exact * 1e-9));
}

/** Top-k sparsification by magnitude, for use with error feedback. */
export class TopKCodec implements Codec {
  readonly name: string;
  readonly errorFeedback = true;

  /** `fraction`: the share of entries sent, in (0, 1]. */
  constructor(readonly fraction: number) {
    if (!(fraction > 0 && fraction <= 1)) {
      throw new RangeError(`topk: the fraction must be in (0, 1], got ${fraction}`);
    }
    this.name = `topk:${fraction}`;
  }

  encode(v: Float32Array): Uint8Array {
    return this.pack(v, topKIndices(v, keptCount(this.fraction, v.length)));
  }

  encodeWithFeedback(v: Float32Array, residualIn: Float32Array, residualOut: Float32Array): Uint8Array {
    if (residualIn.length !== v.length || residualOut.length !== v.length) {
      throw new CodecError(
        `${this.name}: residual of ${residualIn.length}/${residualOut.length} floats for a vector of ${v.length}`,
      );
    }
    // The vector sent is u = v + residual, rounded to float32 once; it is built in residualOut.
    for (let i = 0; i < v.length; i += 1) {
      residualOut[i] = v[i] + residualIn[i];
    }
    const picked = topKIndices(residualOut, keptCount(this.fraction, v.length));
    const bytes = this.pack(residualOut, picked);
    // What was sent leaves the residual; the rest stays, exactly.
    for (let j = 0; j < picked.length; j += 1) {
      residualOut[picked[j]] = 0;
    }
    return bytes;
  }

  floats(bytes: Uint8Array): number {
    return this.header(bytes).n;
  }

  decode(bytes: Uint8Array): Float32Array {
    const out = new Float32Array(this.header(bytes).n);
    this.forEach(bytes, (index, value) => {
      out[index] = value;
    });
    return out;
  }

  addInto(bytes: Uint8Array, target: Float32Array): void {
    checkLength(this.name, this.header(bytes).n, target.length);
    this.forEach(bytes, (index, value) => {
      target[index] += value;
    });
  }

  private pack(u: Float32Array, picked: Uint32Array): Uint8Array {
    const k = picked.length;
    const out = new Uint8Array(HEADER_BYTES + 4 * k + MAX_VARINT_BYTES * k);
    const view = new DataView(out.buffer);
    view.setUint32(0, u.length, true);
    view.setUint32(4, k, true);
    if (LITTLE_ENDIAN) {
      const values = new Float32Array(out.buffer, HEADER_BYTES, k);
      for (let j = 0; j < k; j += 1) {
        values[j] = u[picked[j]];
      }
    } else {
      for (let j = 0; j < k; j += 1) {
        view.setFloat32(HEADER_BYTES + 4 * j, u[picked[j]], true);
      }
    }
    let at = HEADER_BYTES + 4 * k;
    let previous = -1;
    for (let j = 0; j < k; j += 1) {
      let gap = picked[j] - previous - 1;
      previous = picked[j];
      while (gap >= 0x80) {
        out[at] = (gap & 0x7f) | 0x80;
        gap >>>= 7;
        at += 1;
      }
      out[at] = gap;
      at += 1;
    }
    return out.subarray(0, at);
  }

  private header(bytes: Uint8Array): { n: number; k: number } {
    if (bytes.byteLength < HEADER_BYTES) {
      throw new CodecError(`${this.name}: ${bytes.byteLength} bytes are too few for a top-k header`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
    const n = view.getUint32(0, true);
    const k = view.getUint32(4, true);
    if (k > n || bytes.byteLength < HEADER_BYTES + 5 * k) {
      throw new CodecError(`${this.name}: ${bytes.byteLength} bytes cannot hold ${k} of ${n} entries`);
    }
    return { n, k };
  }

  private forEach(bytes: Uint8Array, visit: (index: number, value: number) => void): void {
    const { n, k } = this.header(bytes);
    const values = readFloat32s(bytes, HEADER_BYTES, k);
    let at = HEADER_BYTES + 4 * k;
    let index = -1;
    for (let j = 0; j < k; j += 1) {
      let gap = 0;
      let shift = 0;
      let byte: number;
      do {
        if (at >= bytes.byteLength || shift > 28) {
          throw new CodecError(`${this.name}: the index list ends early or holds a malformed varint`);
        }
        byte = bytes[at];
        at += 1;
        gap += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte & 0x80);
      index += gap + 1;
      if (index >= n) {
        throw new CodecError(`${this.name}: index ${index} is outside a vector of ${n}`);
      }
      visit(index, values[j]);
    }
  }
}
