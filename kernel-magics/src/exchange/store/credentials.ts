/**
 * What an execution environment's variables hold for its store: the
 * kernel's credentials a Lambda execution role would set for S3, the Redis
 * user and password, nothing for the embedded store. Credentials never
 * travel in invocation requests (a store URL holds none); they reach only
 * environments started for a store that needs them.
 */
import { REDIS_PASSWORD_ENV, REDIS_USERNAME_ENV } from './redis';

/** The variables the S3 client's default provider chain reads from the environment. */
const S3_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
];

/**
 * The AWS SDK warns on stderr, in every process, that its 2027 releases need
 * Node 22: in a cell's output that is noise about the runtime, not the cell.
 */
const S3_QUIET = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** The variables an environment whose invocations use the store at `url` gets from `env`. */
export function storeEnvironment(
  url: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const s3 = url?.startsWith('s3://') === true;
  const names = s3
    ? S3_VARIABLES
    : url?.startsWith('redis://')
      ? [REDIS_USERNAME_ENV, REDIS_PASSWORD_ENV]
      : [];
  const picked: NodeJS.ProcessEnv = s3 ? { ...S3_QUIET } : {};
  for (const name of names) {
    if (env[name] !== undefined) {
      picked[name] = env[name];
    }
  }
  return picked;
}
