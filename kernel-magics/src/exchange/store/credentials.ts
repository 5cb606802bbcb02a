/**
 * Which of the kernel's environment variables an execution environment gets
 * so that its store calls authenticate: the ones a Lambda execution role
 * would set for S3, the password variable for Redis, nothing for the
 * embedded store. Credentials never travel in invocation requests (a store
 * URL holds none); they reach only environments started for a store that
 * needs them.
 */

/** The variables the S3 client's default provider chain reads from the environment. */
const S3_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
];

/** Where a Redis store's password comes from (never from its URL). */
export const REDIS_PASSWORD_ENV = 'SERVERLESS_REDIS_PASSWORD';

/** The variables of `env` that an environment using the store at `url` needs. */
export function storeCredentialVariables(
  url: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const names = url?.startsWith('s3://')
    ? S3_VARIABLES
    : url?.startsWith('redis://')
      ? [REDIS_PASSWORD_ENV]
      : [];
  const picked: NodeJS.ProcessEnv = {};
  for (const name of names) {
    if (env[name] !== undefined) {
      picked[name] = env[name];
    }
  }
  return picked;
}
