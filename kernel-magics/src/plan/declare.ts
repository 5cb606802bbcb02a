/**
 * Making values that came back from an invocation into kernel variables that
 * later (type-checked) cells can use: each gets a declaration whose type is
 * read off the value, which is plain data after the trip (structured clone).
 */

import { runInThisContext } from 'node:vm';

/** Where the values wait for the declaring cell to pick them up. */
const HANDOFF_KEY = 'serverless-kernel.handoff';

const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_DEPTH = 4;
const MAX_KEYS = 40;
const MAX_UNION = 4;
const SAMPLE = 200;

function union(types: string[]): string {
  const distinct = [...new Set(types)];
  if (distinct.length === 0) {
    return 'never';
  }
  return distinct.length > MAX_UNION ? 'unknown' : distinct.join(' | ');
}

/** A TypeScript type describing a structured-clone value. */
export function typeOfValue(value: unknown, depth = 0): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'number':
    case 'string':
    case 'boolean':
    case 'bigint':
      return typeof value;
    case 'object':
      break;
    default:
      return 'unknown';
  }
  if (value === null) {
    return 'null';
  }
  if (depth >= MAX_DEPTH) {
    return 'any';
  }
  for (const typed of TYPED_ARRAYS) {
    if (value instanceof typed) {
      return typed.name;
    }
  }
  if (value instanceof ArrayBuffer) {
    return 'ArrayBuffer';
  }
  if (value instanceof Date) {
    return 'Date';
  }
  if (value instanceof RegExp) {
    return 'RegExp';
  }
  if (value instanceof Error) {
    return 'Error';
  }
  if (Array.isArray(value)) {
    const element = union(Array.from(value.slice(0, SAMPLE), (item) => typeOfValue(item, depth + 1)));
    return element === 'never' ? 'any[]' : `(${element})[]`;
  }
  if (value instanceof Map) {
    const entries = [...value.entries()].slice(0, SAMPLE);
    const key = union(entries.map(([k]) => typeOfValue(k, depth + 1)));
    const item = union(entries.map(([, v]) => typeOfValue(v, depth + 1)));
    return entries.length === 0 ? 'Map<any, any>' : `Map<${key}, ${item}>`;
  }
  if (value instanceof Set) {
    const items = [...value.values()].slice(0, SAMPLE);
    return items.length === 0 ? 'Set<any>' : `Set<${union(items.map((v) => typeOfValue(v, depth + 1)))}>`;
  }
  const keys = Object.keys(value);
  if (keys.length > MAX_KEYS) {
    return `Record<string, ${union(keys.slice(0, SAMPLE).map((k) => typeOfValue((value as Record<string, unknown>)[k], depth + 1)))}>`;
  }
  const fields = keys.map((key) => {
    const name = IDENTIFIER.test(key) ? key : JSON.stringify(key);
    return `${name}: ${typeOfValue((value as Record<string, unknown>)[key], depth + 1)}`;
  });
  return `{ ${fields.join('; ')} }`;
}

/**
 * The TypeScript cell that declares `values` as kernel variables (run by the
 * engine after `handOff(values)`). Names are checked identifiers; values are
 * never written into the code, only their types.
 */
export function declarationCell(values: Record<string, unknown>, kind: 'const' | 'let'): string {
  const handoff = `(globalThis as unknown as Record<symbol, Record<string, unknown>>)[Symbol.for('${HANDOFF_KEY}')]`;
  return Object.entries(values)
    .filter(([name]) => IDENTIFIER.test(name))
    .map(([name, value]) => {
      const type = typeOfValue(value);
      return `${kind} ${name}: ${type} = ${handoff}[${JSON.stringify(name)}] as ${type};`;
    })
    .join('\n');
}

/**
 * The global object cells run against: the context's real global, which is
 * not `globalThis` when this module itself runs in a sandbox (under jest).
 */
function cellGlobal(): Record<symbol, unknown> {
  return runInThisContext('globalThis') as Record<symbol, unknown>;
}

/** Puts values where the declaration cell reads them (replacing earlier ones). */
export function handOff(values: Record<string, unknown>): void {
  cellGlobal()[Symbol.for(HANDOFF_KEY)] = values;
}

/** Drops the handed-off values so the kernel does not keep them alive twice. */
export function clearHandOff(): void {
  delete cellGlobal()[Symbol.for(HANDOFF_KEY)];
}
