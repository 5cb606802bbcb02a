/**
 * Serializing what a program returned. Declarations that cannot travel are
 * left out (functions silently, others named in `notReturned`); a value that
 * cannot travel is an error that names the part at fault and says what to do.
 */
import { serialize } from 'node:v8';

import type { ProgramResult, RemoteError } from '../backend';
import type * as Serializable from './serializable';

/** The V8-serialized result, or the error that says why it cannot be sent back. */
export function serializeResult(result: ProgramResult): Uint8Array | RemoteError {
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
    const notReturned: string[] = [];
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
