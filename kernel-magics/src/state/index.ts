/**
 * Model state across invocations: `models` (the notebook's model store)
 * and what a caller needs to type and handle it.
 */
import { ModelStore } from './model-store';

export { ArtifactCache, DEFAULT_CACHE_BYTES } from './cache';
export {
  InvalidModelNameError,
  ModelFormatError,
  type ModelInventory,
  ModelNotFoundError,
  ModelStoreError,
  TfjsNotFoundError,
  VersionClaimError,
} from './errors';
export { MAX_MODEL_NAME_LENGTH } from './layout';
export { ModelStore, sharedModelCache } from './model-store';
export type {
  DeleteOptions,
  DeleteResult,
  ListOptions,
  LoadOptions,
  ModelStoreOptions,
  ModelVersionInfo,
  SaveOptions,
} from './options';
export { defaultStoreResolver, type StoreResolver } from './store-resolver';
export type { LayersModelLike, SavableModel, TensorLike, TfLike } from './tfjs-types';

/**
 * The notebook's models, in the store the kernel is configured with (the
 * embedded store by default): `save`, `load`, `list`, `delete`.
 */
export const models = new ModelStore();
