/**
 * Which store the notebook's `models` use. Each model store call asks its
 * resolver once; the resolver owns the stores it returns (opens, keeps,
 * closes them), so a model store never closes one.
 */
import { embeddedStoreDir } from '../exchange/store/embedded-dir';
import type { ObjectStore } from '../exchange/store/object-store';

/** Gives the store for a call (the same one each time, or the one configured now). */
export type StoreResolver = () => ObjectStore | Promise<ObjectStore>;

const embedded = new Map<string, ObjectStore>();

/**
 * The default: the embedded store in {@link embeddedStoreDir} (read at each
 * call, so `$SERVERLESS_STORE` set later still counts). An embedded store
 * holds no connections, so one per directory is kept for the process. Store
 * implementations are imported at the first call, not with the package
 * index, which every invocation loads.
 */
export const defaultStoreResolver: StoreResolver = async () => {
  const dir = embeddedStoreDir();
  let store = embedded.get(dir);
  if (!store) {
    const { EmbeddedStore } = await import('../exchange/store/embedded');
    store = embedded.get(dir) ?? new EmbeddedStore(dir);
    embedded.set(dir, store);
  }
  return store;
};
