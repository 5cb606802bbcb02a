// Bundles the embedded runtime's worker (dist/src/runtime/local/worker.js, built by
// tsc) into one file next to it, worker.bundle.js, which the local backend starts:
// every module a worker loads is part of every cold start, and one file loads
// faster than a dozen (bench/runtime (b)). `serverless-kernel` as a program
// requires it stays outside: it is the package's own index, resolved at run time.
// Usage: node kernel-magics/scripts/bundle-worker.mjs (after tsc -b).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const localDir = path.join(packageDir, 'dist', 'src', 'runtime', 'local');
const entry = path.join(localDir, 'worker.js');
if (!existsSync(entry)) {
  process.stderr.write(`bundle-worker: ${entry} is missing: run tsc -b first\n`);
  process.exit(1);
}
await build({
  entryPoints: [entry],
  outfile: path.join(localDir, 'worker.bundle.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The package index, for programs' require('serverless-kernel'): the same relative path
  // from the bundle as from runtime/program/runner.js.
  external: ['../../index'],
  sourcemap: 'linked',
  logLevel: 'warning',
});
