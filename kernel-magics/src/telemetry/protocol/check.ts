/**
 * Runtime checks of JSON values, typed so that the compiler holds a check to
 * the TypeScript type it claims: {@link Shape} demands one check per field of
 * a type, optional exactly where the field is. The protocol's types stay the
 * one declaration of its messages; `./guards` cannot drift from them.
 */

/** A check that a JSON value has type `T`. */
export type Check<T> = (value: unknown) => value is T;

declare const OPTIONAL: unique symbol;

/** The check of an optional field: absent or `undefined` passes. */
export type OptionalCheck<T> = Check<T | undefined> & { readonly [OPTIONAL]: true };

/**
 * One check per field of `T`: an {@link OptionalCheck} for an optional field,
 * a {@link Check} of the field's type for a required one (a missing field, an
 * extra one, or a check of another type does not compile).
 */
export type Shape<T> = {
  [K in keyof T]-?: undefined extends T[K] ? OptionalCheck<Exclude<T[K], undefined>> : Check<T[K]>;
};

/** A plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Any string. */
export const string: Check<string> = (value): value is string => typeof value === 'string';

/** A finite number. */
export const finite: Check<number> = (value): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** A whole number >= 0. */
export const count: Check<number> = (value): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** A boolean. */
export const boolean: Check<boolean> = (value): value is boolean => typeof value === 'boolean';

/**
 * One of the keys of `values`, a record (not a list) so that the compiler
 * checks it names every member of `T` and no other.
 */
export function oneOf<T extends string>(values: Record<T, true>): Check<T> {
  return (value): value is T => typeof value === 'string' && Object.hasOwn(values, value);
}

/** `check`, or absent. */
export function optional<T>(check: Check<T>): OptionalCheck<T> {
  return ((value: unknown) => value === undefined || check(value)) as OptionalCheck<T>;
}

/**
 * A plain object whose fields pass `shape`'s checks (fields it does not name
 * are allowed, so that a newer kernel may add some).
 */
export function object<T>(shape: Shape<T>): Check<T> {
  const fields = Object.entries(shape) as [string, Check<unknown>][];
  return (value): value is T => isRecord(value) && hasFields(value, fields);
}

/** Whether every field of `value` passes its check (a loop, not `every`: called per event). */
export function hasFields(
  value: Record<string, unknown>,
  fields: readonly [string, Check<unknown>][],
): boolean {
  for (const [name, check] of fields) {
    if (!check(value[name])) {
      return false;
    }
  }
  return true;
}

/** An array whose every element passes `check`. */
export function arrayOf<T>(check: Check<T>): Check<T[]> {
  return (value): value is T[] => {
    if (!Array.isArray(value)) {
      return false;
    }
    for (const item of value) {
      if (!check(item)) {
        return false;
      }
    }
    return true;
  };
}
