/**
 * Packages the kernel ships with it (its own dependencies) that a notebook
 * may import without installing them: TensorFlow.js, which `train()` and
 * `models` work with, so a notebook in any directory (a Binder, a teaching
 * lab's home) can `import * as tf from '@tensorflow/tfjs'`. A notebook
 * whose directory has its own copy gets its own: the kernel's is only the
 * fallback when the notebook's cannot be resolved.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** The npm scopes whose packages fall back to the kernel's copies. */
const SHIPPED_SCOPES = ['@tensorflow/'];

/** Whether `id` names a package (or a file in one) the kernel ships. */
export function isShipped(id: string): boolean {
  return SHIPPED_SCOPES.some((scope) => id.startsWith(scope));
}

/** Whether `error` says a module could not be found. */
export function isModuleNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'MODULE_NOT_FOUND';
}

/** The kernel's copy of a shipped package. */
export function requireShipped(id: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a shipped package, required by name
  return require(id) as unknown;
}

/**
 * `require(id)` through `base` (the notebook's resolution), falling back to
 * the kernel's copy of a shipped package the notebook does not have.
 */
export function requireWithShipped(base: NodeJS.Require, id: string): unknown {
  try {
    return base(id);
  } catch (error) {
    if (isShipped(id) && isModuleNotFound(error)) {
      return requireShipped(id);
    }
    throw error;
  }
}

/**
 * The scope directories (`<node_modules>/@tensorflow`) whose packages the
 * type checker should find under `cwd`'s node_modules, because the notebook
 * cannot resolve them itself.
 */
export function shippedScopeDirs(cwd: string): Map<string, string> {
  const dirs = new Map<string, string>();
  const notebookRequire = createRequire(path.join(cwd, 'noop.js'));
  for (const scope of SHIPPED_SCOPES) {
    const probe = `${scope}tfjs/package.json`;
    try {
      notebookRequire.resolve(probe);
    } catch {
      try {
        dirs.set(scope.slice(0, -1), path.dirname(path.dirname(require.resolve(probe))));
      } catch {
        // Not installed with the kernel either: imports fail as they would anyway.
      }
    }
  }
  return dirs;
}
