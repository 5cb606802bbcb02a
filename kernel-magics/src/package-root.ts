/**
 * This package's root directory, found from this file's location so it is
 * right both from the build (dist/src) and from the sources (src, in tests).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The npm name of this package. */
export const PACKAGE_NAME = 'serverless-kernel';

function findRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`Cannot find the ${PACKAGE_NAME} package root above ${__dirname}`);
    }
  }
}

/** The directory holding this package's package.json. */
export const PACKAGE_ROOT = findRoot();

/**
 * The Lambda runner's deployment directory (`handler.js` and what it loads),
 * written by `scripts/bundle-lambda.mjs`; `deploy` zips it with its
 * node_modules subset.
 */
export const RUNNER_DIR = path.join(PACKAGE_ROOT, 'lambda', 'dist');
