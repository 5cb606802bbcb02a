/**
 * Typed errors of the model store. Each says which model and store, and
 * what to do about it; store failures themselves stay the store's typed
 * errors (`StoreError` and its kinds), passed through unchanged.
 */

/** Base of every model store error. */
export class ModelStoreError extends Error {
  override name = 'ModelStoreError';
}

/** A model name that cannot be used (the message says the accepted form). */
export class InvalidModelNameError extends ModelStoreError {
  override name = 'InvalidModelNameError';
  readonly modelName: string;

  constructor(modelName: string, message: string) {
    super(message);
    this.modelName = modelName;
  }
}

/** What a store holds, for messages: each model's saved versions, ascending. */
export type ModelInventory = ReadonlyArray<{ name: string; versions: readonly number[] }>;

/**
 * No such model, or no such version of it. The message lists what the store
 * does hold (the model's versions, or the models there) so a typo is
 * obvious; the same is on `available`.
 */
export class ModelNotFoundError extends ModelStoreError {
  override name = 'ModelNotFoundError';
  readonly modelName: string;
  /** The version asked for, when one was. */
  readonly version?: number;
  /** Where the store is. */
  readonly location: string;
  /** What the store holds. */
  readonly available: ModelInventory;

  constructor(info: { name: string; version?: number; location: string; available: ModelInventory }) {
    super(notFoundMessage(info));
    this.modelName = info.name;
    this.version = info.version;
    this.location = info.location;
    this.available = info.available;
  }
}

/** A stored version whose objects do not fit together (a bug or a foreign write); save it again. */
export class ModelFormatError extends ModelStoreError {
  override name = 'ModelFormatError';
}

/** Too many concurrent saves of one name took every version this save tried to claim. */
export class VersionClaimError extends ModelStoreError {
  override name = 'VersionClaimError';
}

/** `@tensorflow/tfjs` could not be found to build a loaded model. */
export class TfjsNotFoundError extends ModelStoreError {
  override name = 'TfjsNotFoundError';
}

function notFoundMessage(info: {
  name: string;
  version?: number;
  location: string;
  available: ModelInventory;
}): string {
  const own = info.available.find((model) => model.name === info.name);
  if (info.version !== undefined && own) {
    return (
      `model ${JSON.stringify(info.name)} has no version ${info.version} in ${info.location}; ` +
      `its versions: ${own.versions.join(', ')}`
    );
  }
  const others =
    info.available.length === 0
      ? 'the store holds no models'
      : `models there: ${info.available.map((model) => `${model.name} (${describeVersions(model.versions)})`).join(', ')}`;
  return `no model named ${JSON.stringify(info.name)} in ${info.location}; ${others}`;
}

function describeVersions(versions: readonly number[]): string {
  return versions.length === 1 ? `version ${versions[0]}` : `versions ${versions.join(', ')}`;
}
