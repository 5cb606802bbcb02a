/**
 * Where the embedded store keeps model state and exchanged data: a directory
 * that survives kernel restarts, shared by the kernel and every execution
 * environment (the sandbox binds it in, writable). `$SERVERLESS_STORE` when
 * set, else `~/.local/share/serverless-kernel/store`.
 */
import * as os from 'node:os';
import * as path from 'node:path';

/** The environment variable that names the embedded store's directory (also set in every environment). */
export const STORE_ENV = 'SERVERLESS_STORE';

/**
 * Set in an environment that has no embedded store (a Lambda's, whose /tmp is
 * its own): the reason, which opening the embedded store there throws.
 */
export const STORE_UNAVAILABLE_ENV = 'SERVERLESS_STORE_UNAVAILABLE';

/** The embedded store's directory, as an absolute path. */
export function embeddedStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env[STORE_ENV];
  return configured
    ? path.resolve(configured)
    : path.join(os.homedir(), '.local', 'share', 'serverless-kernel', 'store');
}
