// Builds jupyterlab-serverless (extension/) as a prebuilt (federated)
// JupyterLab extension with @jupyter/builder and links it into
// lab/labextensions/, where lab/server.py looks for prebuilt extensions.
// Usage: node lab/build-extension.mjs [--development] [--no-tsc]
//   --no-tsc: extension/lib is already compiled (e.g. by the root `npm run build`).
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const extensionDir = path.join(root, 'extension');
const extension = JSON.parse(readFileSync(path.join(extensionDir, 'package.json'), 'utf8'));
const outputDir = path.join(extensionDir, extension.jupyterlab.outputDir ?? 'static');

function run(label, args) {
  const started = performance.now();
  // tsc reports errors on stdout; the builder prints its stats there: shown only on failure.
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout}\nlab: ${label} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
  return ((performance.now() - started) / 1000).toFixed(1);
}

const tscSeconds = process.argv.includes('--no-tsc')
  ? '0 (skipped)'
  : run('tsc -b extension', [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', 'extension']);
const builderSeconds = run('build-labextension', [
  path.join(root, 'node_modules/@jupyter/builder/lib/build-labextension.js'),
  '--core-package-file',
  path.join(root, 'node_modules/@jupyterlab/core-meta/core.package.json'),
  ...(process.argv.includes('--development') ? ['--development'] : []),
  extensionDir,
]);

// lab/labextensions/<name> -> extension/<outputDir> (a link, so a rebuild is picked up).
const link = path.join(here, 'labextensions', ...extension.name.split('/'));
mkdirSync(path.dirname(link), { recursive: true });
if (existsSync(link) || isLink(link)) {
  rmSync(link, { recursive: true, force: true });
}
symlinkSync(path.relative(path.dirname(link), outputDir), link, 'dir');
process.stdout.write(
  `lab: built ${extension.name} into ${path.relative(root, outputDir)}/ ` +
    `(tsc ${tscSeconds} s, build-labextension ${builderSeconds} s), linked from ${path.relative(root, link)}\n`,
);
process.stdout.write(`lab: shared modules it takes from JupyterLab:\n${sharedRequirements().join('\n')}\n`);

/** The shared modules the built extension consumes, as its remoteEntry declares them. */
function sharedRequirements() {
  const built = JSON.parse(readFileSync(path.join(outputDir, 'package.json'), 'utf8'));
  const remoteEntry = readFileSync(path.join(outputDir, built.jupyterlab._build.load), 'utf8');
  const consume =
    /shareKey:"([^"]+)",import:([^,]+),requiredVersion:"([^"]*)",strictVersion:[^,]+,singleton:(!0|!1)/g;
  const lines = new Set();
  for (const [, name, imported, range, singleton] of remoteEntry.matchAll(consume)) {
    const bundled = imported === 'null' ? 'from JupyterLab only' : 'own copy as fallback';
    lines.add(`  ${name} ${range}${singleton === '!0' ? ' singleton' : ''} (${bundled})`);
  }
  return [...lines].sort();
}

function isLink(file) {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}
