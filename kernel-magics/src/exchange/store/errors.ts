/**
 * Typed errors of object stores. Each says which store, which call and key,
 * and what to do about it.
 */
import type { StoreKind } from './object-store';

/** What every store error carries. */
export interface StoreErrorInfo {
  kind: StoreKind;
  /** The store's location (no credentials). */
  location: string;
  /** The call: put, get, list, delete, connect... */
  operation: string;
  key?: string;
}

/** Base of every store error. */
export class StoreError extends Error {
  override name = 'StoreError';
  readonly kind: StoreKind;
  readonly location: string;
  readonly operation: string;
  readonly key?: string;

  constructor(message: string, info: StoreErrorInfo, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = info.kind;
    this.location = info.location;
    this.operation = info.operation;
    this.key = info.key;
  }
}

/**
 * A ranged get past the end of its object (`got` of the `length` bytes
 * asked for from `offset`): the reader's idea of the object's layout is not
 * the writer's. `where` names the store for the message.
 */
export function rangePastEnd(
  where: string,
  info: StoreErrorInfo,
  range: { offset: number; length: number },
  got: number,
): StoreError {
  const { offset, length } = range;
  return new StoreError(
    `getRange ${info.key}: ${where}: the object ends before byte ${offset + length} ` +
      `(${got} of the ${length} bytes asked for from ${offset})`,
    info,
  );
}

/** The store cannot be reached (refused, closed, gone away) within the call's bounds. */
export class StoreUnavailableError extends StoreError {
  override name = 'StoreUnavailableError';
}

/** A call did not end within its time bound. */
export class StoreTimeoutError extends StoreError {
  override name = 'StoreTimeoutError';
}

/** A store URL or setting that cannot be used; the message says the accepted forms. */
export class StoreConfigError extends Error {
  override name = 'StoreConfigError';
}
