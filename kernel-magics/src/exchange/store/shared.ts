/**
 * The stores of this process, one per URL, opened at first use and kept,
 * as a Lambda keeps its clients between invocations: a warm environment's
 * exchange and models reuse the connection its first invocation opened.
 * Callers never close a shared store; the kernel closes them all when it
 * shuts down, and an environment's go with its process. The table lives on a
 * global symbol so that the notebook's copy of this package and the
 * kernel's share it.
 */
import { configuredStoreUrl } from './configured';
import { openStore } from './index';
import type { MeteredStore } from './metered';

const SHARED_KEY = Symbol.for('serverless-kernel.shared-stores');

type SharedHolder = { [SHARED_KEY]?: Map<string, MeteredStore> };

function table(): Map<string, MeteredStore> {
  const holder = globalThis as SharedHolder;
  holder[SHARED_KEY] ??= new Map();
  return holder[SHARED_KEY];
}

/**
 * The shared store for `url` (default: the configured one, see
 * ./configured), opened now if it is not yet. Do not close it.
 *
 * @throws StoreConfigError when the URL is not a store URL.
 */
export function sharedStore(url: string = configuredStoreUrl()): MeteredStore {
  const stores = table();
  let store = stores.get(url);
  if (!store) {
    store = openStore(url);
    stores.set(url, store);
  }
  return store;
}

/** Closes every shared store (the kernel, at shutdown); a later use opens a new one. */
export async function closeSharedStores(): Promise<void> {
  const stores = [...table().values()];
  table().clear();
  await Promise.allSettled(stores.map((store) => store.close()));
}
