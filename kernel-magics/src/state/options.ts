/** What the model store's calls take and return. */
import type { ObjectStore } from '../exchange/store/object-store';
import type { ArtifactCache } from './cache';
import type { StoreResolver } from './store-resolver';
import type { TfLike } from './tfjs-types';

/** One saved version, as `save` returns it and `list` shows it. */
export interface ModelVersionInfo {
  name: string;
  version: number;
  /** Stored size: `model.json` + `weights.bin`. */
  bytes: number;
  /** When the version became visible (ISO 8601). */
  savedAt: string;
}

/** Options of {@link ModelStore.save}. */
export interface SaveOptions {
  /** Also save the optimizer's state and training config, so the loaded model comes back compiled (tfjs's `includeOptimizer`). */
  includeOptimizer?: boolean;
  signal?: AbortSignal;
}

/** Options of {@link ModelStore.load}. */
export interface LoadOptions<M> {
  /** The version to load; the newest when absent. */
  version?: number;
  /** The tfjs to build the model with (default: the notebook's `@tensorflow/tfjs`); also types the result. */
  tf?: TfLike<M>;
  signal?: AbortSignal;
}

/** Options of {@link ModelStore.list}. */
export interface ListOptions {
  /** Only this model's versions. */
  name?: string;
  signal?: AbortSignal;
}

/** Options of {@link ModelStore.delete}. */
export interface DeleteOptions {
  /** Only this version; every version when absent. */
  version?: number;
  signal?: AbortSignal;
}

/** What {@link ModelStore.delete} removed. */
export interface DeleteResult {
  name: string;
  versions: number[];
}

/** How a {@link ModelStore} is set up. */
export interface ModelStoreOptions {
  /** The store, or a resolver asked at each call (default: the embedded store in `$SERVERLESS_STORE`). */
  store?: ObjectStore | StoreResolver;
  /** The warm cache used inside execution environments (default: one per process); `false`: none. */
  cache?: ArtifactCache | false;
  /** How old an uncommitted version must be before a later save removes it (default one hour). */
  staleClaimMs?: number;
  /** The tfjs loads build models with unless a call passes its own. */
  tf?: TfLike<unknown>;
}
