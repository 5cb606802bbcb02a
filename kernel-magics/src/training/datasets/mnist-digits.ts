/**
 * The digits the `mnist` package ships: one JSON file per class,
 * `src/digits/<digit>.json` holding `{ "data": [pixel, ...] }`, 784 pixels
 * per digit (28 x 28, row-major), each in [0, 1]. They are read from the
 * files rather than through the package's module, which would keep every
 * pixel as a JS number for the life of the process (a cached `require` of
 * each file), and decoded by a strict scanner rather than `JSON.parse`,
 * which builds an array of boxed numbers first and is slower
 * (bench/RESULTS.md). Decoded once per process, at the first use.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { DatasetError } from './errors';

/** Pixels per digit. */
export const MNIST_PIXELS = 784;
/** Classes (the digits 0-9). */
export const MNIST_CLASSES = 10;

/** Every digit the package ships, by class. */
export interface MnistDigits {
  /** For each class, its digits' pixels, one digit after the other. */
  readonly pixels: readonly Float32Array[];
  /** For each class, how many digits it has. */
  readonly counts: readonly number[];
  /** How many digits in all. */
  readonly total: number;
}

const PACKAGE = 'mnist';

let decoded: MnistDigits | undefined;

/** The package's digits, read and decoded at the first call. Throws {@link DatasetError} when the package is missing or not as expected. */
export function mnistDigits(): MnistDigits {
  decoded ??= readDigits(digitsDir());
  return decoded;
}

/** Reads the ten class files under `dir`. */
export function readDigits(dir: string): MnistDigits {
  const pixels: Float32Array[] = [];
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const file = path.join(dir, `${digit}.json`);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new DatasetError(
        `cannot read ${file}: reinstall the ${PACKAGE} package (npm install ${PACKAGE}@1.1.0)`,
        {
          cause: error,
        },
      );
    }
    pixels.push(decodeDigitFile(bytes, file));
  }
  const counts = pixels.map((values) => values.length / MNIST_PIXELS);
  return { pixels, counts, total: counts.reduce((sum, count) => sum + count, 0) };
}

/**
 * Decodes one class file: `{ "data": [` then non-negative decimals (digits,
 * an optional fraction) separated by commas, then `]}`. Each number becomes
 * the float32 nearest to it, as `new Float32Array(JSON.parse(text).data)`
 * gives. Anything else is a {@link DatasetError}: the package is not the
 * one this was written for.
 */
export function decodeDigitFile(bytes: Uint8Array, where: string): Float32Array {
  const open = bytes.indexOf(OPEN_BRACKET);
  if (open < 0) {
    malformed(where, 'no data array');
  }
  // Each number takes at least two bytes with its comma.
  const values = new Float32Array(Math.ceil((bytes.length - open) / 2));
  let count = 0;
  let i = open + 1;
  // One pass, byte by byte (out of range reads give undefined, which no test below accepts).
  let byte = bytes[i];
  while (isSpace(byte)) {
    byte = bytes[++i];
  }
  if (byte !== CLOSE_BRACKET) {
    for (;;) {
      // The number's digits as one integer, and 10^(digits after the point): integer / scale is then one
      // correctly rounded division of exact operands, the same double JSON.parse gives.
      if (!isDigit(byte)) {
        malformed(where, `a number expected at byte ${i}`);
      }
      const start = i;
      let mantissa = 0;
      let digits = 0;
      let scale = 1;
      do {
        mantissa = mantissa * 10 + (byte - ZERO);
        digits += 1;
        byte = bytes[++i];
      } while (isDigit(byte));
      if (byte === POINT) {
        byte = bytes[++i];
        if (!isDigit(byte)) {
          malformed(where, `a malformed number at byte ${start}`);
        }
        do {
          mantissa = mantissa * 10 + (byte - ZERO);
          digits += 1;
          scale *= 10;
          byte = bytes[++i];
        } while (isDigit(byte));
      }
      const value = mantissa / scale;
      if (digits > MAX_EXACT_DIGITS || value > 1) {
        malformed(where, `a number with too many digits or above 1 at byte ${start}`);
      }
      values[count++] = value;
      while (isSpace(byte)) {
        byte = bytes[++i];
      }
      if (byte === CLOSE_BRACKET) {
        break;
      }
      if (byte !== COMMA) {
        malformed(
          where,
          i < bytes.length ? `unexpected byte ${byte} at ${i}` : 'the data array does not end',
        );
      }
      byte = bytes[++i];
      while (isSpace(byte)) {
        byte = bytes[++i];
      }
    }
  }
  if (count === 0 || count % MNIST_PIXELS !== 0) {
    malformed(where, `${count} pixels, not a whole number of ${MNIST_PIXELS}-pixel digits`);
  }
  return values.slice(0, count);
}

function malformed(where: string, what: string): never {
  throw new DatasetError(
    `${where} is not a digits file of ${PACKAGE} 1.1.0 (${what}); reinstall ${PACKAGE}@1.1.0`,
  );
}

function isDigit(byte: number): boolean {
  return byte >= ZERO && byte <= NINE;
}

function digitsDir(): string {
  let manifest: string;
  try {
    manifest = require.resolve(`${PACKAGE}/package.json`);
  } catch (error) {
    throw new DatasetError(
      `datasets.mnist reads the digits of the ${PACKAGE} package, which is not installed: npm install ${PACKAGE}@1.1.0`,
      { cause: error },
    );
  }
  return path.join(path.dirname(manifest), 'src', 'digits');
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const POINT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
/** Decimal digits an integer below 2^53 (and a power of ten) holds exactly. */
const MAX_EXACT_DIGITS = 15;
