/**
 * Capturing kernel variables for a `%%serverless` body: which ones to ship,
 * as data (V8 structured serialization: typed arrays travel as raw bytes) or,
 * for functions that use nothing but their parameters and globals, as code.
 * Anything that cannot travel is reported naming the variable, before
 * anything is invoked.
 */
import { createHash } from 'node:crypto';
import { serialize } from 'node:v8';

import { findClassInstance } from '../runtime/program/class-instances';
import { analyzeBody } from './analyze';

/** A kernel variable that cannot be shipped; the message says what to do. */
export class CaptureError extends Error {
  override readonly name = 'CaptureError';
  constructor(
    /** The variable that cannot be shipped. */
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

/** The most a run may ship as captured data (per environment, once). */
const MAX_CAPTURE_BYTES = 256 * 1024 * 1024;

/** Marks a tfjs tensor encoded as `{dtype, shape, values}` (revived in the worker). */
const TENSOR_TAG = '__serverless_tensor__';

/** What a body takes from the kernel. */
export interface CapturePlan {
  /** Variables shipped as data. */
  data: Record<string, unknown>;
  /** Closure-free functions shipped as code, name -> source. */
  functions: Map<string, string>;
  /** Captured tfjs tensors (encoded in `data`, revived in the worker). */
  tensors: string[];
}

/** Globals every environment has (so a function may use them and still be closure-free). */
const GLOBALS = new Set<string>([...Object.getOwnPropertyNames(globalThis), 'require', 'arguments']);

interface TensorLike {
  dtype: string;
  shape: number[];
  dataSync(): ArrayLike<number>;
}

function isTensorLike(value: unknown): value is TensorLike {
  const candidate = value as Partial<TensorLike> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.dataSync === 'function' &&
    Array.isArray(candidate.shape) &&
    typeof candidate.dtype === 'string'
  );
}

/** The source of a function that can be shipped as code, or a CaptureError saying why not. */
function functionSource(
  name: string,
  fn: (...args: unknown[]) => unknown,
  kernel: Record<string, unknown>,
): {
  source: string;
  uses: string[];
} {
  const source = Function.prototype.toString.call(fn);
  const cannot = (why: string): CaptureError =>
    new CaptureError(
      name,
      `Cannot send function '${name}' to the invocation: ${why}. ` +
        `Define it inside the %%serverless cell, or pass what it needs as parameters.`,
    );
  if (/\{\s*\[native code\]\s*\}$/.test(source)) {
    throw cannot('it is a native or bound function');
  }
  const analysis = analyzeBody(`(${source});`);
  if (analysis.syntaxErrors.length > 0) {
    throw cannot('its source cannot stand alone (a method or a class member?)');
  }
  const outside = analysis.freeIdentifiers.filter((id) => !GLOBALS.has(id));
  const notInKernel = outside.filter((id) => !Object.prototype.hasOwnProperty.call(kernel, id));
  if (notInKernel.length > 0) {
    throw cannot(`it uses ${notInKernel.map((id) => `'${id}'`).join(', ')} from its closure`);
  }
  return { source, uses: outside };
}

/**
 * Decides what to ship for the body's free identifiers: those that name
 * kernel variables, plus what captured functions use (transitively).
 * `exclude` holds names bound otherwise (the `--map` element).
 */
export function planCaptures(
  freeIdentifiers: string[],
  kernel: Record<string, unknown>,
  exclude: ReadonlySet<string>,
): CapturePlan {
  const plan: CapturePlan = { data: {}, functions: new Map(), tensors: [] };
  const pending = [...freeIdentifiers];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (seen.has(name) || exclude.has(name) || !Object.prototype.hasOwnProperty.call(kernel, name)) {
      continue;
    }
    seen.add(name);
    const value = kernel[name];
    if (typeof value === 'function') {
      const { source, uses } = functionSource(name, value as (...args: unknown[]) => unknown, kernel);
      plan.functions.set(name, source);
      pending.push(...uses);
    } else if (isTensorLike(value)) {
      plan.data[name] = {
        [TENSOR_TAG]: true,
        dtype: value.dtype,
        shape: value.shape,
        values: value.dataSync(),
      };
      plan.tensors.push(name);
    } else {
      refuseClassInstances(name, value, kernel);
      plan.data[name] = value;
    }
  }
  return plan;
}

/**
 * Refuses a variable holding a class instance: V8 serialization would send
 * only its data, and its methods would be missing in the invocation.
 */
function refuseClassInstances(name: string, value: unknown, kernel: Record<string, unknown>): void {
  const instance = findClassInstance(value, name);
  if (!instance) {
    return;
  }
  const className = instance.className.replace(/^class /, '');
  const classInKernel =
    instance.className.startsWith('class ') && typeof kernel[className] === 'function'
      ? ` (${className} itself travels as code when it uses only globals and kernel variables)`
      : '';
  throw new CaptureError(
    name,
    `Cannot send '${name}' to the invocation: ${instance.where} is an instance of ${instance.className}, ` +
      `and only its data would arrive: its methods would be missing there. Pass plain data (the fields ` +
      `you need), or build the instance inside the %%serverless cell${classInKernel}.`,
  );
}

function unserializableReason(name: string, value: unknown, error: unknown): CaptureError {
  const detail = error instanceof Error ? error.message : String(error);
  if (value instanceof WeakMap || value instanceof WeakSet) {
    return new CaptureError(
      name,
      `Cannot send '${name}' to the invocation: a ${value instanceof WeakMap ? 'WeakMap' : 'WeakSet'} cannot be copied ` +
        `to another process. Convert it to a Map/Set or pass the data it holds.`,
    );
  }
  return new CaptureError(
    name,
    `Cannot send '${name}' to the invocation (${detail}). Objects holding functions, sockets, streams or ` +
      `native handles cannot leave the kernel: pass plain data (numbers, strings, arrays, objects, Maps, ` +
      `Sets, typed arrays) instead${typeof value === 'object' ? ', or import modules inside the cell' : ''}.`,
  );
}

/** Serializes the captured data once (throws a CaptureError naming the variable that cannot travel). */
export function serializeCaptures(data: Record<string, unknown>): { hash: string; bytes: Uint8Array } {
  let bytes: Buffer;
  try {
    bytes = serialize(data);
  } catch (error) {
    for (const [name, value] of Object.entries(data)) {
      try {
        serialize(value);
      } catch (inner) {
        throw unserializableReason(name, value, inner);
      }
    }
    throw error;
  }
  if (bytes.byteLength > MAX_CAPTURE_BYTES) {
    const sizes = Object.entries(data)
      .map(([name, value]) => ({ name, size: serialize(value).byteLength }))
      .sort((a, b) => b.size - a.size);
    const biggest = sizes[0];
    throw new CaptureError(
      biggest.name,
      `The captured variables take ${(bytes.byteLength / 1048576).toFixed(0)} MB, over the ` +
        `${MAX_CAPTURE_BYTES / 1048576} MB limit ('${biggest.name}' alone is ` +
        `${(biggest.size / 1048576).toFixed(0)} MB). Use --map to split the data, or load it inside the cell.`,
    );
  }
  return { hash: createHash('sha256').update(bytes).digest('hex'), bytes };
}
