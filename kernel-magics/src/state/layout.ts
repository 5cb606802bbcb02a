/**
 * Where a model's objects live in a store, and how a key listing is read
 * back into models and versions:
 *
 *     models/<name>/latest.json            copy of the newest version's manifest
 *     models/<name>/v<version>/model.json  topology + weight specs; created with
 *                                          putIfAbsent, so it is the version's claim
 *     models/<name>/v<version>/weights.bin every weight, one binary object
 *     models/<name>/v<version>/manifest.json  written last: the version exists
 *                                          iff this exists
 *
 * Versions are `v1`, `v2`... without padding; listings are sorted as text,
 * so versions are always compared as numbers.
 */
import { InvalidModelNameError } from './errors';

/** The prefix of every model's objects. */
export const MODELS_PREFIX = 'models/';

/** The longest model name, in characters. */
export const MAX_MODEL_NAME_LENGTH = 128;

const NAME = /^[A-Za-z0-9._-]+$/;
const VERSION_SEGMENT = /^v([1-9][0-9]{0,14})$/;

/** The objects of one version, by their file name in the version's folder. */
export const PART = {
  topology: 'model.json',
  weights: 'weights.bin',
  manifest: 'manifest.json',
} as const;

const LATEST = 'latest.json';

/** Checks a model name (letters, digits, `-`, `_`, `.`); throws {@link InvalidModelNameError} saying the form. */
export function checkModelName(name: unknown): string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > MAX_MODEL_NAME_LENGTH ||
    !NAME.test(name) ||
    name === '.' ||
    name === '..'
  ) {
    const shown = typeof name === 'string' ? JSON.stringify(name) : String(name);
    throw new InvalidModelNameError(
      String(name),
      `invalid model name ${shown}: use 1-${MAX_MODEL_NAME_LENGTH} letters, digits, '-', '_' or '.' ` +
        `(not '.' or '..'), e.g. "mnist-mlp"`,
    );
  }
  return name;
}

/** Checks a version number asked for by a caller. */
export function checkVersion(version: unknown): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new TypeError(`a model version is a whole number from 1 (got ${String(version)})`);
  }
  return version;
}

/** The prefix of every object of model `name`. */
export function modelPrefix(name: string): string {
  return `${MODELS_PREFIX}${name}/`;
}

/** The key of one object of a version. */
export function partKey(name: string, version: number, part: (typeof PART)[keyof typeof PART]): string {
  return `${MODELS_PREFIX}${name}/v${version}/${part}`;
}

/** The prefix of a version's objects. */
export function versionPrefix(name: string, version: number): string {
  return `${MODELS_PREFIX}${name}/v${version}/`;
}

/** The key of the model's pointer to its newest version. */
export function latestKey(name: string): string {
  return `${MODELS_PREFIX}${name}/${LATEST}`;
}

/** What a listing shows of one model: each version's objects present. */
export type ModelListing = Map<number, Set<string>>;

/**
 * Reads a listing of keys under {@link MODELS_PREFIX} (or one model's
 * prefix) into models and their versions' objects. Keys of other shapes
 * (the latest pointer, foreign objects) are skipped.
 */
export function parseListing(keys: readonly string[]): Map<string, ModelListing> {
  const models = new Map<string, ModelListing>();
  for (const key of keys) {
    if (!key.startsWith(MODELS_PREFIX)) {
      continue;
    }
    const [name, versionSegment, part, ...rest] = key.slice(MODELS_PREFIX.length).split('/');
    const match = versionSegment === undefined ? null : VERSION_SEGMENT.exec(versionSegment);
    if (!match || part === undefined || rest.length > 0) {
      continue;
    }
    const versions = models.get(name) ?? new Map<number, Set<string>>();
    models.set(name, versions);
    const version = Number(match[1]);
    const parts = versions.get(version) ?? new Set<string>();
    versions.set(version, parts);
    parts.add(part);
  }
  return models;
}

/** The versions that exist (their manifest does), ascending. */
export function committedVersions(listing: ModelListing | undefined): number[] {
  return [...(listing ?? new Map<number, Set<string>>())]
    .filter(([, parts]) => parts.has(PART.manifest))
    .map(([version]) => version)
    .sort((a, b) => a - b);
}

/** Versions with objects but no manifest: being written, or left by a save that died. */
export function uncommittedVersions(listing: ModelListing | undefined): number[] {
  return [...(listing ?? new Map<number, Set<string>>())]
    .filter(([, parts]) => !parts.has(PART.manifest))
    .map(([version]) => version)
    .sort((a, b) => a - b);
}

/** The highest version number anything is stored under (claimed or committed), 0 when none. */
export function highestVersion(listing: ModelListing | undefined): number {
  let highest = 0;
  for (const version of listing?.keys() ?? []) {
    highest = Math.max(highest, version);
  }
  return highest;
}
