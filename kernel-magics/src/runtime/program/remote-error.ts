/**
 * A thrown value as the kernel receives it: an Error keeps its name, message
 * and stack; anything else is shown the way Node shows an uncaught value.
 */
import { types } from 'node:util';

import { plainText } from '../../output/format';
import type { RemoteError } from '../backend';

/** The RemoteError of a value a program threw (or a failure around it). */
export function toRemoteError(thrown: unknown): RemoteError {
  // Not `instanceof Error`: a program compiled in another realm throws that realm's errors.
  if (types.isNativeError(thrown) || thrown instanceof Error) {
    const error = thrown as Error;
    return {
      name: error.name,
      message: error.message,
      stack: error.stack ?? `${error.name}: ${error.message}`,
    };
  }
  const text = String(thrown);
  return { name: 'Error', message: text, stack: `Error: ${text}`, inspected: plainText(thrown) };
}
