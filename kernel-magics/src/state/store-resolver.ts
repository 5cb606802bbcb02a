/**
 * Which store the notebook's `models` use. Each model store call asks its
 * resolver once; the resolver owns the stores it returns (opens, keeps,
 * closes them), so a model store never closes one.
 */
import type { ObjectStore } from '../exchange/store/object-store';

/** Gives the store for a call (the same one each time, or the one configured now). */
export type StoreResolver = () => ObjectStore | Promise<ObjectStore>;

/**
 * The default: the configured store (the invocation's, else the kernel's
 * `--store`, else the embedded one), read at each call, shared by the
 * process (see exchange/store/shared). Loaded at the first call, not with
 * the package index, which every invocation loads.
 */
export const defaultStoreResolver: StoreResolver = async () => {
  const { sharedStore } = await import('../exchange/store/shared');
  return sharedStore();
};
