/**
 * Store URLs as users write them (`--store`): checked early, in the kernel,
 * so a typo fails at the magic, not inside every invocation.
 */
import { StoreConfigError } from './errors';

/** The forms a store URL may take, for messages. */
export const STORE_URL_FORMS =
  "'embedded', 'redis://host:port[/db]' or 's3://bucket[/prefix][?endpoint=URL&region=R]'";

/**
 * Checks a store URL and returns it in its canonical form. Throws a
 * {@link StoreConfigError} naming the accepted forms for anything else, and
 * for a URL carrying credentials (it travels in every invocation request).
 */
export function describeStoreUrl(value: string): string {
  const text = value.trim();
  if (text === 'embedded') {
    return text;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StoreConfigError(`store ${JSON.stringify(value)} is not a URL: use ${STORE_URL_FORMS}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 's3:') {
    throw new StoreConfigError(`store ${JSON.stringify(value)}: use ${STORE_URL_FORMS}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new StoreConfigError(
      `store URL must not hold credentials (it travels with every invocation): for Redis set ` +
        `SERVERLESS_REDIS_PASSWORD in the kernel's environment; for S3 use the AWS SDK's usual credentials`,
    );
  }
  if (url.hostname === '') {
    throw new StoreConfigError(
      `store ${JSON.stringify(value)} names no ${url.protocol === 's3:' ? 'bucket' : 'host'}`,
    );
  }
  return text;
}
