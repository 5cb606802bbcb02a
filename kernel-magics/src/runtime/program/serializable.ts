/**
 * Finding what in a value `v8.serialize` refuses, so the message for a result
 * that cannot be sent back names the part at fault (`the cell's value.model.fit
 * is a function`) instead of only V8's "could not be cloned". Loaded by the
 * worker: node:v8 only.
 */
import { serialize } from 'node:v8';

/** How deep the search for the part at fault goes (the message names the deepest part found). */
const MAX_DEPTH = 8;
/** How many children of one object the search looks at. */
const MAX_CHILDREN = 1000;

/** Whether `v8.serialize` accepts the value. */
export function serializable(value: unknown): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

function kind(value: unknown): string {
  if (typeof value === 'function') {
    return 'a function';
  }
  if (typeof value === 'symbol') {
    return 'a symbol';
  }
  if (typeof value === 'object' && value !== null) {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor
      ?.name;
    return name ? `a ${name}` : 'an object';
  }
  return typeof value;
}

function children(value: object): [string, unknown][] {
  if (value instanceof Map) {
    return [...value.entries()].map(([key, item], i) => [
      `.get(${typeof key === 'string' ? JSON.stringify(key) : `#${i}`})`,
      item,
    ]);
  }
  if (value instanceof Set) {
    return [...value.values()].map((item, i) => [`[set item ${i}]`, item]);
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => [`[${i}]`, item as unknown]);
  }
  return Object.entries(value).map(([key, item]) => [
    /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`,
    item,
  ]);
}

/**
 * Describes the first part of `value` that cannot be serialized, as
 * `<label><path> is <kind>`; undefined when the whole value can be.
 */
export function describeUnserializable(value: unknown, label: string): string | undefined {
  if (serializable(value)) {
    return undefined;
  }
  let at = value;
  let where = label;
  for (let depth = 0; depth < MAX_DEPTH && typeof at === 'object' && at !== null; depth += 1) {
    const culprit = children(at)
      .slice(0, MAX_CHILDREN)
      .find(([, item]) => !serializable(item));
    if (!culprit) {
      break;
    }
    where += culprit[0];
    at = culprit[1];
  }
  return `${where} is ${kind(at)}`;
}
