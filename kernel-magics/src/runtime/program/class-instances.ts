/**
 * Finding class instances in a value about to travel. V8 serialization
 * keeps an object's own data and silently drops its prototype: an instance
 * of `class Pt` arrives as a plain `{ x, y }` whose methods are gone. Values
 * cross between kernel and environment only as plain data, so such a value
 * is refused, naming where the instance is and its class. Built-in types
 * that V8 serialization rebuilds (arrays, Map, Set, Date, RegExp, Error and
 * its standard subclasses, boxed primitives, typed arrays and buffers) are
 * data. Checked by constructor name and nativeness, not identity: values
 * may come from another realm. Node built-ins only (loaded by the worker).
 */
import { types } from 'node:util';

/** Native constructors whose instances V8 serialization rebuilds as they were. */
const REBUILT = new Set([
  'Object',
  'Array',
  'Map',
  'Set',
  'Date',
  'RegExp',
  'Error',
  'EvalError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'TypeError',
  'URIError',
  'Number',
  'String',
  'Boolean',
  'BigInt',
]);

/** A class instance found in a value. */
export interface ClassInstance {
  /** Where it is: the label, then the path to it (`p.items[2]`). */
  where: string;
  /** Its class's name (`an anonymous class` when it has none). */
  className: string;
}

/**
 * How a value was reached from its parent: an array index, an object key, or
 * a step already written out. Written out only for the path of an instance
 * found: a walk over a large result must not format a step per element.
 */
type Step = number | { key: string } | string;

/** One object met while walking a value, and how it was reached. */
interface Visit {
  value: object;
  parent?: Visit;
  step: Step;
}

const isNative = (fn: unknown): boolean =>
  typeof fn === 'function' && /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(fn));

function pathOf(visit: Visit): string {
  const steps: string[] = [];
  for (let at: Visit | undefined = visit; at; at = at.parent) {
    steps.push(stepText(at.step));
  }
  return steps.reverse().join('');
}

function stepText(step: Step): string {
  if (typeof step === 'number') {
    return `[${step}]`;
  }
  if (typeof step === 'string') {
    return step;
  }
  return /^[A-Za-z_$][\w$]*$/.test(step.key) ? `.${step.key}` : `[${JSON.stringify(step.key)}]`;
}

/** Finds class instances in values; remembers which prototypes are plain. */
class InstanceFinder {
  /** Prototype -> class name, or undefined when its instances are data. */
  private readonly classes = new Map<object, string | undefined>();

  /** The class of `value` when V8 serialization would drop it; undefined for data. */
  classOf(value: object): string | undefined {
    if (types.isArrayBufferView(value) || types.isAnyArrayBuffer(value)) {
      return undefined;
    }
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === null) {
      return undefined;
    }
    if (this.classes.has(proto)) {
      return this.classes.get(proto);
    }
    const ctor = (Object.getOwnPropertyDescriptor(proto, 'constructor') as { value?: unknown } | undefined)
      ?.value;
    const name = typeof ctor === 'function' ? ctor.name : '';
    const found =
      REBUILT.has(name) && isNative(ctor) ? undefined : name ? `class ${name}` : 'an anonymous class';
    this.classes.set(proto, found);
    return found;
  }

  /** The first class instance in `value` (depth first), if any. */
  find(value: unknown, label: string): ClassInstance | undefined {
    if (typeof value !== 'object' || value === null) {
      return undefined;
    }
    const seen = new Set<object>();
    const pending: Visit[] = [{ value, step: label }];
    for (let visit = pending.pop(); visit; visit = pending.pop()) {
      const at = visit.value;
      if (seen.has(at)) {
        continue;
      }
      seen.add(at);
      const className = this.classOf(at);
      if (className !== undefined) {
        return { where: pathOf(visit), className };
      }
      if (Array.isArray(at)) {
        // Inline: arrays of numbers can be long, and only their objects need a visit.
        for (let i = 0; i < at.length; i += 1) {
          const child = at[i] as unknown;
          if (typeof child === 'object' && child !== null && !seen.has(child)) {
            pending.push({ value: child, parent: visit, step: i });
          }
        }
        continue;
      }
      for (const [step, child] of children(at)) {
        if (typeof child === 'object' && child !== null && !seen.has(child)) {
          pending.push({ value: child, parent: visit, step });
        }
      }
    }
    return undefined;
  }
}

/** The values V8 serialization carries inside an object of a rebuilt type (not an array), with their steps. */
function* children(value: object): Iterable<[Step, unknown]> {
  if (types.isArrayBufferView(value) || types.isAnyArrayBuffer(value) || types.isNativeError(value)) {
    return;
  }
  if (types.isMap(value)) {
    let i = 0;
    for (const [key, item] of value as Map<unknown, unknown>) {
      yield [`[map key ${i}]`, key];
      yield [`.get(${typeof key === 'string' ? JSON.stringify(key) : `#${i}`})`, item];
      i += 1;
    }
    return;
  }
  if (types.isSet(value)) {
    let i = 0;
    for (const item of value as Set<unknown>) {
      yield [`[set item ${i}]`, item];
      i += 1;
    }
    return;
  }
  for (const key of Object.keys(value)) {
    yield [{ key }, (value as Record<string, unknown>)[key]];
  }
}

/**
 * The first class instance in `value` (see the module comment), described
 * from `label` (`p`, `the cell's value`); undefined when it is all data.
 */
export function findClassInstance(value: unknown, label: string): ClassInstance | undefined {
  return new InstanceFinder().find(value, label);
}
