/**
 * The `fp16` codec: each float32 rounded to an IEEE 754 half (binary16),
 * two bytes little-endian, half the bytes of `none`.
 *
 * Rounding is to nearest, ties to even, the IEEE default. What comes back:
 * - |x| in the normal half range [2^-14, 65504]: relative error at most
 *   2^-11 (half a unit in the last of the 10 stored significand bits);
 * - |x| < 2^-14 (half subnormals, spaced 2^-24): absolute error at most
 *   2^-25; below 2^-25 the result is a zero of x's sign;
 * - |x| >= 65520 (the midpoint between 65504 and 2^16) and ±Infinity:
 *   ±Infinity; NaN: NaN.
 */
import { LITTLE_ENDIAN, readUint16s } from './bytes';
import { Codec, CodecError } from './codec';
import { checkLength } from './none';

/** The float32 with bits `f` (a uint32) rounded to half bits, ties to even. */
export function floatBitsToHalf(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = f & 0x7f800000;
  // Exponent 16 or more (or Inf/NaN): beyond the largest half.
  if (exp >= 0x47800000) {
    if (exp === 0x7f800000 && (f & 0x007fffff) !== 0) {
      return sign | 0x7e00; // a quiet NaN
    }
    return sign | 0x7c00;
  }
  // Exponent -15 or less: a half subnormal or zero.
  if (exp <= 0x38000000) {
    if (exp < 0x33000000) {
      return sign; // below half the smallest subnormal: a signed zero
    }
    const e = exp >>> 23;
    const full = 0x00800000 | (f & 0x007fffff);
    // Shift so that the bits beyond the subnormal's precision sit below bit 13, as in the normal case.
    let sig = full >>> (113 - e);
    // Ties to even: skip the rounding increment only for an exact tie (also counting bits the shift dropped) with an even result.
    const dropped = full & ((1 << (113 - e)) - 1);
    if ((sig & 0x3fff) !== 0x1000 || dropped !== 0) {
      sig += 0x1000;
    }
    // A carry out of the subnormal significand makes the smallest normal: correct.
    return sign | (sig >>> 13);
  }
  const halfExp = (exp - 0x38000000) >>> 13;
  let sig = f & 0x007fffff;
  if ((sig & 0x3fff) !== 0x1000) {
    sig += 0x1000;
  }
  // A carry into the exponent is correct, and past the largest exponent it makes Infinity.
  return sign | (halfExp + (sig >>> 13));
}

/** The value of half bits `h`. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const sig = h & 0x3ff;
  if (exp === 0) {
    return sign * sig * 2 ** -24;
  }
  if (exp === 0x1f) {
    return sig === 0 ? sign * Infinity : NaN;
  }
  return sign * (1 + sig / 1024) * 2 ** (exp - 15);
}

let table: Float32Array | undefined;

/** Every half's float32 value, indexed by its bits (built on first use). */
function halfTable(): Float32Array {
  if (!table) {
    table = new Float32Array(0x10000);
    for (let h = 0; h < 0x10000; h += 1) {
      table[h] = halfToFloat(h);
    }
  }
  return table;
}

/** IEEE half precision, round to nearest even. */
export class Fp16Codec implements Codec {
  readonly name = 'fp16';
  readonly errorFeedback = false;

  encode(v: Float32Array): Uint8Array {
    const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
    const halves = new Uint16Array(v.length);
    for (let i = 0; i < bits.length; i += 1) {
      halves[i] = floatBitsToHalf(bits[i]);
    }
    if (!LITTLE_ENDIAN) {
      const out = new Uint8Array(halves.length * 2);
      const view = new DataView(out.buffer);
      halves.forEach((h, i) => view.setUint16(i * 2, h, true));
      return out;
    }
    return new Uint8Array(halves.buffer);
  }

  encodedLength(floats: number): number {
    return floats * 2;
  }

  floats(bytes: Uint8Array): number {
    if (bytes.byteLength % 2 !== 0) {
      throw new CodecError(`fp16: ${bytes.byteLength} bytes are not a whole number of halves`);
    }
    return bytes.byteLength / 2;
  }

  decode(bytes: Uint8Array): Float32Array {
    const halves = readUint16s(bytes, 0, this.floats(bytes));
    const values = halfTable();
    const out = new Float32Array(halves.length);
    for (let i = 0; i < halves.length; i += 1) {
      out[i] = values[halves[i]];
    }
    return out;
  }

  addInto(bytes: Uint8Array, target: Float32Array): void {
    const halves = readUint16s(bytes, 0, this.floats(bytes));
    checkLength('fp16', halves.length, target.length);
    const values = halfTable();
    for (let i = 0; i < halves.length; i += 1) {
      target[i] += values[halves[i]];
    }
  }
}
