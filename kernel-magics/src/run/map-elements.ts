/**
 * The elements of `--map EXPR`, from the value the expression gave in the
 * kernel: an array as it is, any other iterable (a Set, a generator, an
 * infinite one) read one element at a time up to `--max-elements`, giving
 * the kernel's event loop a turn now and then so that an interrupt stops a
 * long read.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

import { MagicUsageError } from '../magics/usage';

/** How long one stretch of reading an iterable runs before the event loop gets a turn, ms. */
const TURN_MS = 20;
/** Elements read between two looks at the clock. */
const ELEMENTS_PER_LOOK = 256;

/** The refusal of a value that is not a collection of elements. */
function notElements(expression: string, value: unknown): MagicUsageError | undefined {
  if (typeof value === 'string') {
    return new MagicUsageError(
      `%%serverless: --map ${expression} gave a string. --map takes an array or another iterable of ` +
        `elements, and a string would be split into its characters. To map over the characters, ` +
        `say so: --map [...${expression}]. (An expression needs no quotes: it runs to the next option.)`,
    );
  }
  if (value === null || typeof value !== 'object' || !(Symbol.iterator in value)) {
    const gave = value === null ? 'null' : typeof value;
    return new MagicUsageError(
      `%%serverless: --map ${expression} gave ${gave}; it must give an array or another iterable of ` +
        `elements, e.g. --map [1, 2, 3] or --map xs.filter((x) => x > 0).`,
    );
  }
  return undefined;
}

/** The refusal of a map over more than `maxElements` elements. */
function tooMany(expression: string, maxElements: number, counted: string): MagicUsageError {
  return new MagicUsageError(
    `%%serverless: --map ${expression} gave ${counted} elements, over --max-elements ` +
      `${maxElements.toLocaleString('en-US')} (each element is one invocation). Raise --max-elements ` +
      `if you mean it, or map over fewer elements (for an endless generator, take what you need: ` +
      `--map Array.from({ length: 100 }, ...)).`,
  );
}

/**
 * Reads the elements of `value` (what `--map expression` gave), at most
 * `maxElements`; undefined when `signal` is aborted while reading.
 * @throws MagicUsageError unless it is an iterable other than a string, or past `maxElements`.
 */
export async function mapElements(
  expression: string,
  value: unknown,
  maxElements: number,
  signal: AbortSignal,
): Promise<unknown[] | undefined> {
  const refusal = notElements(expression, value);
  if (refusal) {
    throw refusal;
  }
  if (Array.isArray(value)) {
    if (value.length > maxElements) {
      throw tooMany(expression, maxElements, value.length.toLocaleString('en-US'));
    }
    return Array.from(value as unknown[]);
  }
  const iterator = (value as Iterable<unknown>)[Symbol.iterator]();
  const elements: unknown[] = [];
  let turnStarted = performance.now();
  try {
    for (let step = iterator.next(); !step.done; step = iterator.next()) {
      if (elements.length === maxElements) {
        throw tooMany(expression, maxElements, 'more than that many');
      }
      elements.push(step.value);
      if (elements.length % ELEMENTS_PER_LOOK === 0 && performance.now() - turnStarted >= TURN_MS) {
        await nextTurn();
        if (signal.aborted) {
          return undefined;
        }
        turnStarted = performance.now();
      }
    }
  } catch (error) {
    iterator.return?.();
    throw error;
  }
  return signal.aborted ? undefined : elements;
}
