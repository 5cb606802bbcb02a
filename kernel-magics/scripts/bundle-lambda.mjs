// Builds the Lambda runner's directory, kernel-magics/lambda/dist (after tsc -b and
// bundle-worker.mjs):
//   handler.js                              the handler (runtime/lambda/handler.ts), one file
//   src/runtime/local/worker.bundle.js      the embedded runtime's worker, as built
//   src/index.js                            the package index, which programs require
//   package.json                            names the package (its root is found by it)
// TensorFlow.js stays outside the bundles: it is required from node_modules at run
// time (the deploy package adds the packages it needs; serverless-offline resolves
// them from the repository's node_modules).
// Usage: node kernel-magics/scripts/bundle-lambda.mjs
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const compiled = path.join(packageDir, 'dist', 'src');
const out = path.join(packageDir, 'lambda', 'dist');
const worker = path.join(compiled, 'runtime', 'local', 'worker.bundle.js');
for (const needed of [path.join(compiled, 'runtime', 'lambda', 'handler.js'), worker]) {
  if (!existsSync(needed)) {
    process.stderr.write(`bundle-lambda: ${needed} is missing: run npm run build first\n`);
    process.exit(1);
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(out, 'src', 'runtime', 'local'), { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Loaded from node_modules at run time (see above); tfjs-node is never required.
  external: ['@tensorflow/*', 'tslab', 'tslab/*', '@tslab/*'],
  logLevel: 'warning',
};
await build({
  ...common,
  entryPoints: [path.join(compiled, 'runtime', 'lambda', 'handler.js')],
  outfile: path.join(out, 'handler.js'),
});
await build({
  ...common,
  entryPoints: [path.join(compiled, 'index.js')],
  outfile: path.join(out, 'src', 'index.js'),
});
copyFileSync(worker, path.join(out, 'src', 'runtime', 'local', 'worker.bundle.js'));

const manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
writeFileSync(
  path.join(out, 'package.json'),
  `${JSON.stringify({ name: manifest.name, version: manifest.version, private: true, main: 'handler.js' }, null, 2)}\n`,
);
