/**
 * Events a program sends to the kernel while its invocation runs: what the
 * exchange and training report, and what a custom loop may report. Outside
 * an invocation there is nobody to send them to, and they are dropped.
 */
import { JsonObject } from '../kernel/messages';
import { getOutputSink } from './sink';

/**
 * Sends a typed event to the kernel from inside a `%%serverless` body
 * (`type` names its kind; `data` must be JSON). Throws a TypeError for data
 * that is not JSON, so a bad event fails where it is made.
 */
export function emitEvent(type: string, data: JsonObject = {}): void {
  if (typeof type !== 'string' || type === '') {
    throw new TypeError('emitEvent(type, data): type must be a non-empty string');
  }
  const text = JSON.stringify(data);
  if (text === undefined || typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TypeError('emitEvent(type, data): data must be a JSON object');
  }
  getOutputSink().event?.({ type, data: JSON.parse(text) as JsonObject });
}
