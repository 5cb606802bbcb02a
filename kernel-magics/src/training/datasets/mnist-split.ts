/**
 * Which digits a `datasets.mnist` call takes, and in what order: a pure
 * function of the class sizes, the counts asked for and the seed, so the
 * same call gives the same digits in every process.
 *
 * Each class's digits are put in a seeded random order; the test set takes
 * the first ones of each class and the training set the next ones, so the
 * two never share a digit. How many of each class: the smaller set is
 * balanced first (as even as the class sizes allow), then the larger one
 * over what is left, so a small set is exactly balanced and a large one as
 * balanced as the digits left allow. Each set is then shuffled (seeded), so
 * batches mix the classes.
 */

/** Some digits: sample `i` is digit `indexes[i]` of class `classes[i]`. */
export interface DigitSelection {
  readonly classes: Uint8Array;
  readonly indexes: Uint32Array;
}

/** The two sets of one call. */
export interface DigitSplit {
  readonly train: DigitSelection;
  readonly test: DigitSelection;
}

/** Picks `train` and `test` digits from classes of `sizes` digits (the caller checked that they fit). */
export function splitDigits(sizes: readonly number[], train: number, test: number, seed: number): DigitSplit {
  const random = seededRandom(seed);
  const orders = sizes.map((size) => shuffle(identity(size), random));
  let testCounts: number[];
  let trainCounts: number[];
  if (test <= train) {
    testCounts = balancedCounts(test, sizes);
    trainCounts = balancedCounts(
      train,
      sizes.map((size, digit) => size - testCounts[digit]),
    );
  } else {
    trainCounts = balancedCounts(train, sizes);
    testCounts = balancedCounts(
      test,
      sizes.map((size, digit) => size - trainCounts[digit]),
    );
  }
  const testSet = gather(orders, testCounts, () => 0, random);
  const trainSet = gather(orders, trainCounts, (digit) => testCounts[digit], random);
  return { train: trainSet, test: testSet };
}

/**
 * Splits `total` over classes holding at most `caps[k]` each, as evenly as
 * the caps allow: every class gets `min(cap, level)` for the highest level
 * that fits, and what remains goes one more each to the lowest classes that
 * have room. Throws a RangeError when the caps hold less than `total`.
 */
export function balancedCounts(total: number, caps: readonly number[]): number[] {
  const room = caps.reduce((sum, cap) => sum + cap, 0);
  if (total > room) {
    throw new RangeError(`cannot take ${total} from classes holding ${room}`);
  }
  const filled = (level: number): number => caps.reduce((sum, cap) => sum + Math.min(cap, level), 0);
  let low = 0;
  let high = Math.max(0, ...caps);
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (filled(middle) <= total) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  const counts = caps.map((cap) => Math.min(cap, low));
  let left = total - filled(low);
  for (let digit = 0; left > 0 && digit < caps.length; digit++) {
    if (caps[digit] > low) {
      counts[digit] += 1;
      left -= 1;
    }
  }
  return counts;
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32: small, fast and well mixed). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** For each class, `counts[k]` digits of its order from `skip(k)` on, then all of them shuffled. */
function gather(
  orders: readonly Uint32Array[],
  counts: readonly number[],
  skip: (digit: number) => number,
  random: () => number,
): DigitSelection {
  const total = counts.reduce((sum, count) => sum + count, 0);
  const picks = shuffle(identity(total), random);
  const classes = new Uint8Array(total);
  const indexes = new Uint32Array(total);
  let next = 0;
  counts.forEach((count, digit) => {
    const from = skip(digit);
    for (let i = 0; i < count; i++) {
      const slot = picks[next++];
      classes[slot] = digit;
      indexes[slot] = orders[digit][from + i];
    }
  });
  return { classes, indexes };
}

function identity(length: number): Uint32Array {
  const values = new Uint32Array(length);
  for (let i = 0; i < length; i++) {
    values[i] = i;
  }
  return values;
}

/** Fisher-Yates, in place. */
function shuffle(values: Uint32Array, random: () => number): Uint32Array {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const held = values[i];
    values[i] = values[j];
    values[j] = held;
  }
  return values;
}
