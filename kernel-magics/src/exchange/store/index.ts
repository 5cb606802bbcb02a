/**
 * Object stores: open one from its URL (`embedded`, `redis://`, `s3://`),
 * metered. The Redis and S3 implementations, and their client libraries,
 * are loaded only when such a store is opened: the package's index loads
 * this module in every invocation.
 */
import { EmbeddedStore } from './embedded';
import { MeteredStore } from './metered';
import type { ObjectStore } from './object-store';
import type * as RedisModule from './redis';
import type * as S3Module from './s3';
import { parseStoreUrl, StoreSpec } from './url';

export * from './object-store';
export * from './errors';
export { EmbeddedStore } from './embedded';
export { embeddedStoreDir, STORE_ENV } from './embedded-dir';
export { MeteredStore, addUsage, totalRequests } from './metered';
export { priceStoreRequests, priceStoreTime, StoreCost } from './pricing';
export {
  describeStore,
  parseStoreUrl,
  EmbeddedStoreSpec,
  RedisStoreSpec,
  S3StoreSpec,
  StoreSpec,
  STORE_URL_FORMS,
} from './url';
export type { RedisStore, RedisStoreOptions } from './redis';
export type { S3Store, S3StoreOptions } from './s3';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /**
   * The environment: `$SERVERLESS_STORE` (embedded), `$SERVERLESS_REDIS_PASSWORD`,
   * and AWS credentials for S3 (when absent, the AWS SDK's default chain).
   */
  env?: NodeJS.ProcessEnv;
}

/**
 * Opens the store a URL names, wrapped in a {@link MeteredStore}. Nothing is
 * contacted yet: the first call connects (and reports an unreachable store).
 *
 * @throws StoreConfigError when the URL is not a store URL (the message lists the accepted forms).
 */
export function openStore(url: string, options: OpenStoreOptions = {}): MeteredStore {
  return new MeteredStore(createStore(parseStoreUrl(url, options.env), options));
}

/** The store implementation of a parsed URL, unmetered. */
export function createStore(spec: StoreSpec, options: OpenStoreOptions = {}): ObjectStore {
  switch (spec.kind) {
    case 'embedded':
      return new EmbeddedStore(spec.dir);
    case 'redis': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load (see the module comment)
      const { RedisStore } = require('./redis') as typeof RedisModule;
      return new RedisStore(spec, { env: options.env });
    }
    case 's3': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load (see the module comment)
      const { S3Store } = require('./s3') as typeof S3Module;
      return new S3Store(spec, { env: options.env });
    }
  }
}
