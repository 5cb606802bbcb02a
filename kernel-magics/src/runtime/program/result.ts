/**
 * Serializing what a program returned. Declarations that cannot travel are
 * left out (functions silently, others named in `notReturned`); a value that
 * cannot travel is an error that names the part at fault and says what to do.
 */
import { serialize } from 'node:v8';

import type { ProgramResult, RemoteError } from '../backend';
import { findClassInstance } from './class-instances';
import type * as Serializable from './serializable';

/**
 * The V8-serialized result, or the error that says why it cannot be sent
 * back. A value holding a class instance is refused (only its data would
 * arrive); such declarations are left out, named in `notReturned`.
 */
export function serializeResult(result: ProgramResult): Uint8Array | RemoteError {
  const instance = findClassInstance(result.value, "the cell's value");
  if (instance) {
    return {
      name: 'ResultNotSerializable',
      message:
        `The cell's value cannot be sent back to the kernel: ${instance.where} is an instance of ` +
        `${instance.className}, and only its data would arrive (its methods and class would be lost). ` +
        'Return plain data (an object of the fields you need, arrays, Maps, typed arrays), or rebuild ' +
        'the instance in the kernel from them.',
      stack: '',
    };
  }
  const withClasses = Object.keys(result.exports ?? {}).filter(
    (name) => findClassInstance(result.exports[name], name) !== undefined,
  );
  if (withClasses.length > 0) {
    const exports = { ...result.exports };
    withClasses.forEach((name) => delete exports[name]);
    result = { ...result, exports, notReturned: withClasses };
  }
  try {
    return serialize(result);
  } catch (error) {
    // Loaded on this failure path only: every module loaded at start is part of every cold start.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load
    const { describeUnserializable, serializable } = require('./serializable') as typeof Serializable;
    const detail = error instanceof Error ? error.message : String(error);
    const culprit = describeUnserializable(result.value, "the cell's value");
    if (culprit !== undefined) {
      return {
        name: 'ResultNotSerializable',
        message:
          `The cell's value cannot be sent back to the kernel: ${culprit} (${detail}). Return plain data ` +
          '(numbers, strings, arrays, objects, Maps, Sets, typed arrays), not functions, class instances ' +
          'with methods or handles; or assign it to a variable inside the cell and return what you need.',
        stack: '',
      };
    }
    const exports: Record<string, unknown> = {};
    const notReturned: string[] = [...(result.notReturned ?? [])];
    for (const [name, value] of Object.entries(result.exports ?? {})) {
      if (serializable(value)) {
        exports[name] = value;
      } else if (typeof value !== 'function') {
        notReturned.push(name);
      }
    }
    return serialize({ ...result, exports, notReturned });
  }
}
