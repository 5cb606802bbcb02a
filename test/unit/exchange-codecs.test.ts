/**
 * The exchange codecs: `none` (views, exact), `fp16` (against an independent
 * round-to-nearest-even reference computed in float64, and its stated error
 * bounds), `topk:F` (the k largest magnitudes, ties by index, the error
 * feedback identity, compactness), and parseCodec's errors.
 */
import {
  CodecConfigError,
  CodecError,
  Fp16Codec,
  keptCount,
  NoneCodec,
  parseCodec,
  TopKCodec,
} from '../../kernel-magics/src/exchange/codecs';
import { floatBitsToHalf, halfToFloat } from '../../kernel-magics/src/exchange/codecs/fp16';
import { kthLargest } from '../../kernel-magics/src/exchange/codecs/select';
import { rng } from './exchange-fixtures';

function gaussian(n: number, seed: number): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    out[i] = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  }
  return out;
}

/** Round-to-nearest-even onto the half grid, in float64 arithmetic (exact here: x is a float32, steps are powers of two). */
function referenceHalf(x: number): number {
  if (Number.isNaN(x)) {
    return NaN;
  }
  const a = Math.abs(x);
  const negative = x < 0 || Object.is(x, -0);
  let out: number;
  if (a >= 65520) {
    out = Infinity;
  } else {
    let step = 2 ** -24;
    if (a >= 2 ** -14) {
      let e = Math.floor(Math.log2(a));
      if (2 ** e > a) e -= 1;
      if (2 ** (e + 1) <= a) e += 1;
      step = 2 ** (e - 10);
    }
    const r = a / step;
    const f = Math.floor(r);
    const d = r - f;
    out = (d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f) * step;
  }
  return negative ? -out : out;
}

describe('parseCodec', () => {
  test('accepts none, fp16 and topk:F', () => {
    expect(parseCodec('none').name).toBe('none');
    expect(parseCodec('fp16').name).toBe('fp16');
    expect(parseCodec('topk:0.01').name).toBe('topk:0.01');
    expect(parseCodec('topk:1e-2').name).toBe('topk:0.01');
    expect(parseCodec(' TopK:0.5 ').errorFeedback).toBe(true);
    const custom = new NoneCodec();
    expect(parseCodec(custom)).toBe(custom);
  });

  test.each([
    ['gzip', /unknown codec 'gzip': use 'none', 'fp16' or 'topk:<fraction>'/],
    ['topk', /needs the fraction of entries to send each round, e\.g\. 'topk:0\.01'/],
    ['topk:', /needs the fraction/],
    ['topk:0', /must be a number in \(0, 1\]/],
    ['topk:1.5', /must be a number in \(0, 1\].*got '1\.5'/],
    ['topk:abc', /got 'abc'/],
    ['topk:-0.1', /must be a number in \(0, 1\]/],
  ])('rejects %j with a message naming the forms', (spec, message) => {
    expect(() => parseCodec(spec)).toThrow(CodecConfigError);
    expect(() => parseCodec(spec)).toThrow(message);
  });

  test('rejects a non-string', () => {
    expect(() => parseCodec(3 as unknown as string)).toThrow(/codec must be a string/);
  });
});

describe('none', () => {
  const codec = new NoneCodec();

  test('round-trips every bit pattern, and encodes and decodes without copying', () => {
    const v = new Float32Array([0, -0, 1.5, -3.25e-40, Infinity, -Infinity, NaN, 3.4e38]);
    const bytes = codec.encode(v);
    expect(bytes.buffer).toBe(v.buffer);
    expect(bytes.byteLength).toBe(v.length * 4);
    const back = codec.decode(bytes);
    expect(back.buffer).toBe(v.buffer);
    expect(Array.from(new Uint32Array(back.buffer))).toEqual(Array.from(new Uint32Array(v.buffer)));
  });

  test('copies only when the bytes are not aligned', () => {
    const raw = new Uint8Array(13);
    raw.set(codec.encode(new Float32Array([1, 2, 3])), 1);
    const back = codec.decode(raw.subarray(1));
    expect(Array.from(back)).toEqual([1, 2, 3]);
    expect(back.buffer).not.toBe(raw.buffer);
  });

  test('addInto adds in float32; bad lengths are CodecErrors', () => {
    const target = new Float32Array([1, 2 ** 24, 0]);
    codec.addInto(codec.encode(new Float32Array([0.5, 1, -0])), target);
    expect(Array.from(target)).toEqual([1.5, 2 ** 24, 0]);
    expect(() => codec.decode(new Uint8Array(5))).toThrow(CodecError);
    expect(() => codec.addInto(codec.encode(new Float32Array(2)), target)).toThrow(/hold 2 floats where 3/);
  });
});

describe('fp16', () => {
  const codec = new Fp16Codec();

  test('matches round-to-nearest-even on random bit patterns of every exponent', () => {
    const next = rng(7);
    const bits = new Uint32Array(200_000);
    for (let i = 0; i < bits.length; i += 1) {
      bits[i] = Math.floor(next() * 2 ** 32);
    }
    const v = new Float32Array(bits.buffer);
    const back = codec.decode(codec.encode(v));
    for (let i = 0; i < v.length; i += 1) {
      const expected = referenceHalf(v[i]);
      if (!Object.is(back[i], expected)) {
        throw new Error(`fp16(${v[i]}) = ${back[i]}, expected ${expected}`);
      }
    }
  });

  test('ties go to even at every midpoint between neighbouring halves, subnormals included', () => {
    const scratch = new Float32Array(1);
    const bits = new Uint32Array(scratch.buffer);
    for (let h = 0; h < 0x7bff; h += 1) {
      const low = halfToFloat(h);
      const high = halfToFloat(h + 1);
      scratch[0] = (low + high) / 2;
      const even = h % 2 === 0 ? h : h + 1;
      const got = floatBitsToHalf(bits[0]);
      // The midpoint is a float32 (12 significant bits), so the tie is exact.
      if (scratch[0] !== (low + high) / 2 || got !== even) {
        throw new Error(`midpoint ${scratch[0]} of halves ${h}/${h + 1} went to ${got}, expected ${even}`);
      }
    }
  });

  test('specials: signed zeros, subnormals, overflow to infinity, NaN', () => {
    const v = new Float32Array([
      0,
      -0,
      2 ** -24,
      2 ** -25,
      2 ** -25 * 1.0001,
      -(2 ** -26),
      65504,
      65519.99,
      65520,
      -70000,
      Infinity,
      -Infinity,
      NaN,
      2 ** -14,
      2 ** -14 - 2 ** -24,
    ]);
    const back = Array.from(codec.decode(codec.encode(v)));
    expect(back).toEqual([
      0,
      -0,
      2 ** -24,
      0,
      2 ** -24,
      -0,
      65504,
      65504,
      Infinity,
      -Infinity,
      Infinity,
      -Infinity,
      NaN,
      2 ** -14,
      2 ** -14 - 2 ** -24,
    ]);
    expect(Object.is(back[1], -0)).toBe(true);
    expect(Object.is(back[5], -0)).toBe(true);
  });

  test('the stated error: relative 2^-11 in the normal range, absolute 2^-25 below it', () => {
    const next = rng(11);
    const v = new Float32Array(100_000);
    for (let i = 0; i < v.length; i += 1) {
      v[i] = (next() < 0.5 ? -1 : 1) * 2 ** (-30 + next() * 47); // 2^-30 .. 2^17
    }
    const back = codec.decode(codec.encode(v));
    let worstRelative = 0;
    let worstSubnormal = 0;
    let overflows = 0;
    let wrongOverflows = 0;
    for (let i = 0; i < v.length; i += 1) {
      const a = Math.abs(v[i]);
      if (a >= 65520) {
        overflows += 1;
        wrongOverflows += back[i] === Math.sign(v[i]) * Infinity ? 0 : 1;
      } else if (a >= 2 ** -14) {
        worstRelative = Math.max(worstRelative, Math.abs(back[i] - v[i]) / a);
      } else {
        worstSubnormal = Math.max(worstSubnormal, Math.abs(back[i] - v[i]));
      }
    }
    expect(overflows).toBeGreaterThan(0);
    expect(wrongOverflows).toBe(0);
    expect(worstSubnormal).toBeLessThanOrEqual(2 ** -25);
    expect(worstRelative).toBeLessThanOrEqual(2 ** -11);
    expect(worstRelative).toBeGreaterThan(2 ** -12); // the bound is tight, not loose
  });

  test('two bytes a float; odd byte counts are CodecErrors', () => {
    expect(codec.encode(new Float32Array(7)).byteLength).toBe(14);
    expect(() => codec.decode(new Uint8Array(3))).toThrow(CodecError);
  });
});

describe('topk', () => {
  test('keeps ceil(F * n) entries, at least one', () => {
    expect(keptCount(0.01, 1_000_000)).toBe(10_000);
    expect(keptCount(0.01, 1_000_001)).toBe(10_001);
    expect(keptCount(0.01, 7)).toBe(1);
    expect(keptCount(1, 7)).toBe(7);
    expect(keptCount(0.3, 10)).toBe(3);
    expect(keptCount(0.5, 0)).toBe(0);
  });

  test('kthLargest agrees with a sort, duplicates and all', () => {
    const next = rng(3);
    for (let trial = 0; trial < 200; trial += 1) {
      const n = 1 + Math.floor(next() * 60);
      const v = new Float32Array(n).map(() => Math.floor(next() * 5));
      const sorted = Array.from(v).sort((a, b) => b - a);
      const k = 1 + Math.floor(next() * n);
      expect(kthLargest(v.slice(), k)).toBe(sorted[k - 1]);
    }
  });

  test('sends the largest magnitudes, ties by lowest index, and decodes to them', () => {
    const codec = new TopKCodec(0.4);
    const v = new Float32Array([1, -5, 3, 3, -3, 0, 2, NaN, 0.5, 4]);
    const back = Array.from(codec.decode(codec.encode(v)));
    // k = 4: NaN (counted as largest), -5, 4, then the first 3 of three magnitude-3 entries.
    expect(back).toEqual([0, -5, 3, 0, 0, 0, 0, NaN, 0, 4]);
  });

  test('matches a sort-based reference on random vectors', () => {
    const next = rng(5);
    for (let trial = 0; trial < 100; trial += 1) {
      const n = 1 + Math.floor(next() * 300);
      const v = new Float32Array(n).map(() => Math.round((next() - 0.5) * 20) / 4);
      const fraction = 0.01 + next() * 0.99;
      const k = keptCount(fraction, n);
      const order = Array.from(v.keys()).sort((a, b) => Math.abs(v[b]) - Math.abs(v[a]) || a - b);
      const expected = new Float32Array(n);
      for (const i of order.slice(0, k)) expected[i] = v[i];
      expect(Array.from(new TopKCodec(fraction).decode(new TopKCodec(fraction).encode(v)))).toEqual(
        Array.from(expected),
      );
    }
  });

  test('error feedback: decoded + new residual equals v + old residual exactly', () => {
    const codec = new TopKCodec(0.05);
    const v = gaussian(10_001, 1);
    const residual = gaussian(10_001, 2).map((x) => x * 0.1);
    const u = new Float32Array(v.length);
    for (let i = 0; i < v.length; i += 1) u[i] = v[i] + residual[i];
    const out = new Float32Array(v.length);
    const bytes = codec.encodeWithFeedback(v, residual, out);
    const decoded = codec.decode(bytes);
    let sent = 0;
    let mismatches = 0;
    for (let i = 0; i < v.length; i += 1) {
      if ((decoded[i] !== 0 && out[i] !== 0) || decoded[i] + out[i] !== u[i]) mismatches += 1;
      if (decoded[i] !== 0) sent += 1;
    }
    expect(mismatches).toBe(0);
    expect(sent).toBe(keptCount(0.05, v.length));
    // In place works as well.
    const again = residual.slice();
    codec.encodeWithFeedback(v, again, again);
    expect(Array.from(again)).toEqual(Array.from(out));
  });

  test('1% of a million floats: about five bytes a kept entry, over 50x fewer than none, in linear time', () => {
    const v = gaussian(1_000_000, 9);
    const codec = new TopKCodec(0.01);
    const started = performance.now();
    const bytes = codec.encode(v);
    const ms = performance.now() - started;
    const perEntry = (bytes.byteLength - 8) / 10_000;
    expect(perEntry).toBeGreaterThanOrEqual(5);
    expect(perEntry).toBeLessThan(5.5);
    expect(new NoneCodec().encode(v).byteLength / bytes.byteLength).toBeGreaterThan(70);
    // A full sort of a million magnitudes alone takes longer than this on these machines.
    expect(ms).toBeLessThan(1000);
    const target = new Float32Array(v.length);
    codec.addInto(bytes, target);
    expect(target.filter((x) => x !== 0).length).toBe(10_000);
  });

  test('malformed bytes are CodecErrors', () => {
    const codec = new TopKCodec(0.5);
    const bytes = codec.encode(new Float32Array([1, 2, 3, 4]));
    expect(() => codec.decode(bytes.subarray(0, 5))).toThrow(/too few for a top-k header/);
    expect(() => codec.decode(bytes.subarray(0, bytes.byteLength - 1))).toThrow(CodecError);
    const bad = bytes.slice();
    bad[bad.length - 1] = 0x7f;
    expect(() => codec.decode(bad)).toThrow(/outside a vector of 4/);
    expect(() => codec.addInto(bytes, new Float32Array(3))).toThrow(/hold 4 floats where 3/);
    expect(() => new TopKCodec(0)).toThrow(RangeError);
  });
});
